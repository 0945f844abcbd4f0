// What pipe: promises beyond the conformance suite: it adopts exactly the two inherited
// pipe ends its endpoint names (or refuses, taking nothing), it never listens, and a
// child's exit or death ends the link (docs/transports/pipe.md).

#include "transport_fixtures.hpp"

#include <courier/transports/transport.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <system_error>

using namespace courier;
using namespace courier::test;
using State = ReceiveStatus::State;

namespace {

const TransportRegistry& registry() {
    return TransportRegistry::builtin();
}

/// A pipe made the way a child inherits one: blocking, without close-on-exec.
struct RawPipe {
    Fd read_end, write_end;
    RawPipe() {
        std::array<int, 2> ends{};
        if (::pipe(ends.data()) != 0)
            throw std::system_error(errno, std::generic_category(), "pipe");
        read_end.reset(ends[0]);
        write_end.reset(ends[1]);
    }
};

Endpoint pipe_endpoint_of(int read_fd, int write_fd) {
    return Endpoint::parse("pipe:" + std::to_string(read_fd) + "," + std::to_string(write_fd));
}

/// The message of the E that `f` throws; "(nothing thrown)" if it returns. Any other
/// exception escapes and fails the test.
template <class E, class F>
std::string thrown(F f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "(nothing thrown)";
}

bool cloexec(int fd) {
    return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}
bool nonblocking(int fd) {
    return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
}
bool is_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

/// Restores SIGPIPE's default action (death) for the scope, so an EPIPE that raised
/// SIGPIPE would kill the test instead of passing by luck.
struct DefaultSigpipe {
    struct sigaction saved {};
    DefaultSigpipe() {
        struct sigaction action {};
        action.sa_handler = SIG_DFL;
        ::sigaction(SIGPIPE, &action, &saved);
    }
    ~DefaultSigpipe() { ::sigaction(SIGPIPE, &saved, nullptr); }
};

}  // namespace

TEST_CASE("a pipe endpoint adopts its two inherited ends and carries frames both ways",
          "[transport][pipe]") {
    RawPipe in, out;  // in: the peer writes, we read; out: we write, the peer reads
    auto link = registry().connect(pipe_endpoint_of(in.read_end.get(), out.write_end.get()));
    const int read_fd = in.read_end.release();  // the link owns them now
    const int write_fd = out.write_end.release();
    // Close-on-exec, so a grandchild does not inherit them; non-blocking for the reactor.
    CHECK(cloexec(read_fd));
    CHECK(cloexec(write_fd));
    CHECK(nonblocking(read_fd));
    CHECK(nonblocking(write_fd));
    CHECK(link->poll_fd() == read_fd);
    CHECK_FALSE(link->capabilities().fd_passing);
    CHECK_FALSE(link->capabilities().cross_host);
    CHECK(link->peer() ==
          "pipe:" + std::to_string(read_fd) + "," + std::to_string(write_fd) + " (inherited)");

    link->send(pattern(5, 1));
    std::array<std::byte, 9> got{};
    REQUIRE(::read(out.read_end.get(), got.data(), got.size()) == 9);
    auto expected = length_prefix(5);
    auto body = pattern(5, 1);
    expected.insert(expected.end(), body.begin(), body.end());
    CHECK(std::vector<std::byte>(got.begin(), got.end()) == expected);

    auto frame = length_prefix(3);
    auto bytes = pattern(3, 2);
    frame.insert(frame.end(), bytes.begin(), bytes.end());
    write_raw(in.write_end.get(), frame);
    auto received = receive_frames(*link, 1);
    REQUIRE(received.frames.size() == 1);
    CHECK(same_bytes(received.frames[0].data(), bytes));

    in.write_end.reset();
    CHECK(receive_until_end(*link).status.state == State::closed);
    link.reset();
    CHECK_FALSE(is_open(read_fd));  // closed with the link
    CHECK_FALSE(is_open(write_fd));
}

TEST_CASE("frames that arrive in one read share one buffer, and a lone frame has its own",
          "[transport][pipe]") {
    RawPipe in, out;
    auto link = registry().connect(pipe_endpoint_of(in.read_end.get(), out.write_end.get()));
    in.read_end.release();  // the link owns them now
    out.write_end.release();

    std::vector<std::byte> two;
    for (std::uint32_t i = 0; i < 2; ++i) {
        auto prefix = length_prefix(10 + i);
        auto bytes = pattern(10 + i, i);
        two.insert(two.end(), prefix.begin(), prefix.end());
        two.insert(two.end(), bytes.begin(), bytes.end());
    }
    write_raw(in.write_end.get(), two);  // one write: one read takes both
    auto received = receive_frames(*link, 2);
    REQUIRE(received.frames.size() == 2);
    const Frame& first = received.frames[0];
    const Frame& second = received.frames[1];
    REQUIRE(first.shared);
    CHECK(first.shared.use_count() == 2);
    CHECK(first.bytes.empty());
    // Each views its bytes past its length prefix, one after the other.
    CHECK(first.data().data() == first.shared.bytes().data() + 4);
    CHECK(second.data().data() == first.data().data() + 10 + 4);
    CHECK(same_bytes(first.data(), pattern(10, 0)));
    CHECK(same_bytes(second.data(), pattern(11, 1)));

    auto lone = length_prefix(7);
    auto bytes = pattern(7, 9);
    lone.insert(lone.end(), bytes.begin(), bytes.end());
    write_raw(in.write_end.get(), lone);
    received = receive_frames(*link, 1);
    REQUIRE(received.frames.size() == 1);
    CHECK_FALSE(received.frames[0].shared);
    CHECK(same_bytes(received.frames[0].bytes, bytes));
}

TEST_CASE("a bad pipe endpoint is refused with a clear error and takes nothing",
          "[transport][pipe]") {
    RawPipe a, b;
    const int r = a.read_end.get();
    const int w = b.write_end.get();

    SECTION("a malformed address") {
        for (const char* uri : {"pipe:3", "pipe:a,b", "pipe:3,", "pipe:,4", "pipe:3,4,5",
                                "pipe:-1,4", "pipe:3;4", "pipe:99999999999,4"}) {
            INFO(uri);
            CHECK_THAT(thrown<std::invalid_argument>(
                           [&] { (void)registry().connect(Endpoint::parse(uri)); }),
                       Catch::Contains("<read-fd>,<write-fd>"));
        }
        CHECK_THAT(thrown<std::invalid_argument>(
                       [&] { (void)registry().connect(pipe_endpoint_of(r, r)); }),
                   Catch::Contains("two descriptors"));
    }
    SECTION("a descriptor that is not open") {
        int closed = -1;
        {
            RawPipe gone;
            closed = gone.read_end.get();
        }
        try {
            registry().connect(pipe_endpoint_of(closed, w));
            FAIL("connect took a closed descriptor");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::bad_file_descriptor);
            CHECK_THAT(e.what(), Catch::Contains("read end " + std::to_string(closed)) &&
                                     Catch::Contains("not an open descriptor"));
        }
    }
    SECTION("a descriptor that is not a pipe") {
        std::array<int, 2> sockets{};
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets.data()) == 0);
        Fd s0(sockets[0]), s1(sockets[1]);
        CHECK_THAT(thrown<std::invalid_argument>(
                       [&] { (void)registry().connect(pipe_endpoint_of(r, s0.get())); }),
                   Catch::Contains("write end " + std::to_string(s0.get()) + " is not a pipe"));
        CHECK(is_open(s0.get()));
    }
    SECTION("the ends swapped") {
        CHECK_THAT(thrown<std::invalid_argument>(
                       [&] { (void)registry().connect(pipe_endpoint_of(w, r)); }),
                   Catch::Contains("open for writing only"));
    }
    // Nothing was taken or changed.
    CHECK(is_open(r));
    CHECK(is_open(w));
    CHECK_FALSE(cloexec(r));
    CHECK_FALSE(nonblocking(r));
    CHECK_FALSE(cloexec(w));
}

TEST_CASE("nothing listens on pipe: links are made by spawning", "[transport][pipe]") {
    CHECK_THAT(thrown<std::invalid_argument>(
                   [&] { (void)registry().listen(Endpoint::parse("pipe:3,4")); }),
               Catch::Contains("spawning a child process"));
    const auto* entry = registry().find("pipe");
    REQUIRE(entry != nullptr);
    CHECK_FALSE(entry->default_endpoint);  // so a node never tries to listen on it
    CHECK(entry->child_link);
    CHECK_THROWS_AS(registry().child_link("unix"), std::invalid_argument);
}

TEST_CASE("a child link names the child's ends where the spawner places them",
          "[transport][pipe]") {
    ChildLink made = registry().child_link("pipe", {}, 3);
    CHECK(made.child_endpoint == Endpoint::parse("pipe:3,4"));
    REQUIRE(made.child_fds.size() == 2);
    for (const auto& fd : made.child_fds) {
        CHECK(cloexec(fd.get()));            // only an explicit placement gives them to the child
        CHECK_FALSE(nonblocking(fd.get()));  // the child may not be a courier program
    }
    CHECK(cloexec(made.link->poll_fd()));
    CHECK(nonblocking(made.link->poll_fd()));
    CHECK_THAT(made.link->peer(), Catch::Contains("spawned child"));
}

TEST_CASE("a child's exit or death ends its pipe link, and a send then throws LinkError",
          "[transport][pipe][process]") {
    DefaultSigpipe sigpipe_kills;
    ChildLink made = registry().child_link("pipe");
    const Endpoint endpoint = made.child_endpoint;
    const bool killed = GENERATE(false, true);
    ReadySignal ready;
    std::optional<Child> child;
    child.emplace([&] {
        auto link = registry().connect(endpoint);
        link->send(pattern(100, 1));
        if (killed) {
            ready.signal();
            for (;;) ::pause();
        }
        return 0;
    });
    made.child_fds.clear();  // our copies of its ends: only the child holds them now
    auto received = receive_frames(*made.link, 1);
    REQUIRE(received.frames.size() == 1);
    CHECK(same_bytes(received.frames[0].data(), pattern(100, 1)));
    if (killed) {
        REQUIRE(ready.wait());
        child.reset();  // SIGKILL and reap
    } else {
        CHECK(child->wait() == 0);
    }
    CHECK(receive_until_end(*made.link).status.state == State::closed);
    CHECK_THAT(thrown<LinkError>([&] { (void)made.link->send(pattern(10, 2)); }),
               Catch::Contains("closed"));
}

TEST_CASE("a pipe peer that breaks the framing fails the link", "[transport][pipe]") {
    RawPipe in, out;
    TransportOptions options;
    options.max_frame_size = 1000;
    auto link =
        registry().connect(pipe_endpoint_of(in.read_end.get(), out.write_end.get()), options);
    (void)in.read_end.release();
    (void)out.write_end.release();

    SECTION("a length above max_frame_size") {
        write_raw(in.write_end.get(), length_prefix(1001));
        auto end = receive_until_end(*link);
        CHECK(end.status.state == State::failed);
        CHECK_THAT(end.status.reason, Catch::Contains("above the limit of 1000"));
    }
    SECTION("an end of file in the middle of a frame") {
        auto frame = length_prefix(100);
        auto part = pattern(10, 3);
        frame.insert(frame.end(), part.begin(), part.end());
        write_raw(in.write_end.get(), frame);
        in.write_end.reset();
        auto end = receive_until_end(*link);
        CHECK(end.frames.empty());
        CHECK(end.status.state == State::failed);
        CHECK_THAT(end.status.reason, Catch::Contains("middle of a frame"));
    }
}
