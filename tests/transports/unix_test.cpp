// What unix: promises beyond the conformance suite: socket files, their permissions
// and cleanup, abstract names, and peer credentials (docs/transports/unix.md).

#include "transport_fixtures.hpp"

#include <courier/transports/transport.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

using namespace courier;
using namespace courier::test;
namespace fs = std::filesystem;

namespace {

const TransportRegistry& registry() {
    return TransportRegistry::builtin();
}

/// The unix: fixtures of the conformance suite, so both address kinds are covered.
std::vector<TransportFixture> unix_fixtures() {
    std::vector<TransportFixture> out;
    for (const auto& fixture : transport_fixtures()) {
        if (fixture.name.starts_with("unix")) out.push_back(fixture);
    }
    return out;
}

bool exists(const std::string& path) {
    struct stat status {};
    return ::lstat(path.c_str(), &status) == 0;
}

/// A socket file with nobody behind it, as a crashed listener leaves.
void make_stale_socket_file(const std::string& path) {
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(::listen(fd.get(), 1) == 0);
}  // closed, file left behind

void connect_and_accept(Listener& listener) {
    auto client = registry().connect(listener.endpoint());
    auto server = accept_one(listener);
    client->send(pattern(8, 1));
    auto received = receive_frames(*server, 1);
    REQUIRE(received.frames.size() == 1);
}

}  // namespace

TEST_CASE("a unix socket file is owner-only and removed with its listener", "[transport][unix]") {
    TempDir dir;
    const Endpoint endpoint = unix_path_endpoint(dir);
    {
        auto listener = registry().listen(endpoint);
        CHECK(listener->endpoint() == endpoint);
        struct stat status {};
        REQUIRE(::stat(endpoint.address.c_str(), &status) == 0);
        CHECK(S_ISSOCK(status.st_mode));
        CHECK((status.st_mode & 07777) == 0600);
        connect_and_accept(*listener);
    }
    CHECK_FALSE(exists(endpoint.address));
    CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("a live listener's socket file cannot be taken over", "[transport][unix]") {
    TempDir dir;
    const Endpoint endpoint = unix_path_endpoint(dir);
    auto listener = registry().listen(endpoint);
    try {
        registry().listen(endpoint);
        FAIL("a second listener took over " << endpoint.to_string());
    } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::address_in_use);
        CHECK_THAT(e.what(), Catch::Contains("live listener") && Catch::Contains(endpoint.address));
    }
    // The knock of the failed attempt is a link that closes at once; the owner goes on.
    if (auto knock = listener->accept()) {
        CHECK(receive_until_end(*knock).status.state == ReceiveStatus::State::closed);
    }
    connect_and_accept(*listener);
}

TEST_CASE("a stale socket file is replaced, any other file is left alone", "[transport][unix]") {
    TempDir dir;
    const Endpoint endpoint = unix_path_endpoint(dir);
    SECTION("stale socket") {
        make_stale_socket_file(endpoint.address);
        auto listener = registry().listen(endpoint);
        connect_and_accept(*listener);
    }
    SECTION("regular file") {
        std::ofstream(endpoint.address) << "not a socket";
        try {
            registry().listen(endpoint);
            FAIL("listen replaced a regular file");
        } catch (const std::system_error& e) {
            CHECK_THAT(e.what(), Catch::Contains("not a socket"));
        }
        CHECK(fs::is_regular_file(endpoint.address));
    }
}

TEST_CASE("a listener leaves a successor's socket file in place", "[transport][unix]") {
    TempDir dir;
    const Endpoint endpoint = unix_path_endpoint(dir);
    auto first = registry().listen(endpoint);
    REQUIRE(::unlink(endpoint.address.c_str()) == 0);  // e.g. `courier clean` ran
    auto second = registry().listen(endpoint);
    first.reset();
    CHECK(exists(endpoint.address));
    connect_and_accept(*second);
}

TEST_CASE("an abstract address leaves no file and is owned once", "[transport][unix]") {
    TempDir dir;
    const Endpoint endpoint = unix_abstract_endpoint();
    auto listener = registry().listen(endpoint);
    CHECK(listener->endpoint() == endpoint);
    connect_and_accept(*listener);
    CHECK(fs::is_empty(dir.path()));
    try {
        registry().listen(endpoint);
        FAIL("two listeners on " << endpoint.to_string());
    } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::address_in_use);
    }
}

TEST_CASE("a unix link names its peer's pid and uid", "[transport][unix]") {
    TempDir dir;
    auto pair = connect_pair(unix_path_endpoint(dir));
    const std::string expected =
        " (pid " + std::to_string(::getpid()) + ", uid " + std::to_string(::geteuid()) + ")";
    CHECK(pair.server->peer() == pair.listener->endpoint().to_string() + expected);
    CHECK(pair.client->peer() == pair.listener->endpoint().to_string() + expected);
}

TEST_CASE("a bad unix address or a missing listener fails clearly", "[transport][unix]") {
    TempDir dir;
    CHECK_THROWS_WITH(registry().listen(Endpoint::parse("unix:@")),
                      Catch::Contains("abstract name"));
    CHECK_THROWS_WITH(registry().listen(Endpoint{"unix", "/" + std::string(200, 'x')}),
                      Catch::Contains("at most 107 bytes"));
    const Endpoint nowhere = unix_path_endpoint(dir);
    try {
        registry().connect(nowhere);
        FAIL("connected to nothing");
    } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::no_such_file_or_directory);
        CHECK_THAT(e.what(), Catch::Contains("connect " + nowhere.to_string()));
    }
    CHECK_THROWS_AS(registry().connect(unix_abstract_endpoint()), std::system_error);
    CHECK_THROWS_WITH(registry().listen(Endpoint{"unix", (dir.path() / "no/such/dir.sock")}),
                      Catch::Contains("bind failed"));
}

TEST_CASE("a peer running as another user is refused", "[transport][unix][root]") {
    if (::geteuid() != 0) {
        WARN("skipped: needs root to run a peer as another uid (65534)");
        return;
    }
    constexpr uid_t nobody = 65534;
    const auto become_nobody = [] {
        return ::setgroups(0, nullptr) == 0 && ::setgid(nobody) == 0 && ::setuid(nobody) == 0;
    };
    for (const auto& fixture : unix_fixtures()) DYNAMIC_SECTION(fixture.name) {
            TempDir dir;
            auto listener = registry().listen(fixture.endpoint(dir));
            const Endpoint endpoint = listener->endpoint();
            const bool abstract = endpoint.address.starts_with('@');

            SECTION("the listener closes a raw connection from that uid") {
                std::array<int, 2> report{};
                REQUIRE(::pipe2(report.data(), O_CLOEXEC) == 0);
                Fd report_read(report[0]), report_write(report[1]);
                Child child([&] {
                    if (!become_nobody()) return 5;
                    Fd fd;
                    try {
                        fd = unix_raw_connect(endpoint);
                    } catch (const std::system_error& e) {
                        (void)!::write(report_write.get(), "A", 1);
                        return e.code() == std::errc::permission_denied ? 10 : 2;
                    }
                    (void)!::write(report_write.get(), "C", 1);
                    if (!wait_readable(fd.get())) return 3;
                    char byte = 0;
                    return ::read(fd.get(), &byte, 1) == 0 ? 12 : 4;  // 12: closed on us
                });
                report_write.reset();
                REQUIRE(wait_readable(report_read.get()));
                char what = 0;
                REQUIRE(::read(report_read.get(), &what, 1) == 1);
                if (abstract) {
                    // No file permissions guard an abstract name: SO_PEERCRED must.
                    REQUIRE(what == 'C');
                    REQUIRE(wait_readable(listener->poll_fd()));
                    CHECK(listener->accept() == nullptr);
                    CHECK(child.wait() == 12);
                } else {
                    // The 0600 socket file (and the 0700 directory) stop it first.
                    CHECK(what == 'A');
                    CHECK(child.wait() == 10);
                    CHECK(listener->accept() == nullptr);
                }
            }
            SECTION("connect from that uid refuses a listener of ours") {
                Child child([&] {
                    if (!become_nobody()) return 5;
                    try {
                        registry().connect(endpoint);
                    } catch (const std::system_error&) {
                        return 0;
                    }
                    return 1;
                });
                CHECK(child.wait() == 0);
                CHECK(listener->accept() == nullptr);
            }
            // Refusing a stranger does not stop the listener serving its own user.
            connect_and_accept(*listener);
        }
}
