#include <courier/fd.hpp>
#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <array>
#include <cerrno>
#include <system_error>
#include <utility>

using courier::Fd;

namespace {

bool is_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

std::array<int, 2> make_pipe() {
    std::array<int, 2> ends{};
    REQUIRE(::pipe2(ends.data(), O_CLOEXEC) == 0);
    return ends;
}

}  // namespace

TEST_CASE("an Fd closes its descriptor when it goes, and only once", "[transport][fd]") {
    const auto ends = make_pipe();
    Fd write_end(ends[1]);
    {
        Fd read_end(ends[0]);
        CHECK(read_end);
        CHECK(read_end.get() == ends[0]);
        Fd moved = std::move(read_end);
        CHECK_FALSE(read_end);  // NOLINT(bugprone-use-after-move): the point of the test
        CHECK(moved.get() == ends[0]);
        CHECK(is_open(ends[0]));
    }
    CHECK_FALSE(is_open(ends[0]));

    int raw = write_end.release();
    CHECK_FALSE(write_end);
    CHECK(is_open(raw));
    write_end.reset(raw);
    write_end.reset(raw);  // resetting to the same descriptor keeps it open
    CHECK(is_open(raw));
    write_end.reset();
    CHECK_FALSE(is_open(raw));
    CHECK_FALSE(Fd());
}

TEST_CASE("COURIER_SYSCALL keeps errno and names the call, the site and the context",
          "[transport][posix_call]") {
    const auto result = COURIER_SYSCALL(::dup, -1);
    CHECK_FALSE(result.ok());
    CHECK(result.error == EBADF);
    CHECK(std::string(result.call) == "::dup");

    try {
        result.value_or_throw("duplicating nothing");
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code().value() == EBADF);
        const std::string what = e.what();
        CHECK_THAT(what, Catch::StartsWith("duplicating nothing: dup failed at fd_test.cpp:"));
        CHECK_THAT(what,
                   Catch::Contains(std::error_code(EBADF, std::generic_category()).message()));
    }
    CHECK_THROWS_AS(result.value_or_throw(), std::system_error);

    const auto ok = COURIER_SYSCALL(::getpid);
    CHECK(ok.ok());
    CHECK(ok.value_or_throw() == ::getpid());
}
