// tcp:'s cookie handshake (docs/security.md): both ends prove they know the cookie before
// any frame; strangers, wrong cookies and another user's processes get no link, and cost
// the listener little. Every socket here is on 127.0.0.1.

#include "transport_fixtures.hpp"

#include "tcp/tcp_cookie.hpp"
#include "tcp/tcp_handshake.hpp"
#include "tcp/tcp_listener.hpp"
#include "tcp/tcp_transport.hpp"

#include <courier/transports/transport.hpp>

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace courier;
using namespace courier::test;

namespace {

/// Sets an environment variable for a scope (unset: nullopt), and puts it back.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        set(std::move(value));
    }
    ~ScopedEnv() { set(old_); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
    void set(const std::optional<std::string>& value) {
        if (value)
            ::setenv(name_, value->c_str(), 1);
        else
            ::unsetenv(name_);
    }

  private:
    const char* name_;
    std::optional<std::string> old_;
};

std::string write_cookie(const TempDir& dir, const std::string& name, const std::string& text,
                         mode_t mode = 0600) {
    const auto path = dir.path() / name;
    std::ofstream(path) << text << '\n';
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    return path.string();
}

/// Calls accept() as the listener's descriptor says, until `done` is ready: the links it
/// accepted meanwhile.
template <class Future>
std::size_t pump_until(Listener& listener, Future& done) {
    std::size_t accepted = 0;
    const auto until = Clock::now() + deadline;
    while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        REQUIRE(Clock::now() < until);
        if (wait_readable(listener.poll_fd(), milliseconds(10)))
            while (listener.accept()) ++accepted;
    }
    while (listener.accept()) ++accepted;
    return accepted;
}

/// A plain TCP connection to `endpoint`, with no handshake.
Fd stranger(const Endpoint& endpoint) {
    const auto colon = endpoint.address.rfind(':');
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port =
        htons(static_cast<std::uint16_t>(std::stoul(endpoint.address.substr(colon + 1))));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    return fd;
}

/// Reads from `fd` until the other end closes it, calling accept() meanwhile: the bytes
/// read, and the links accepted.
std::pair<std::size_t, std::size_t> read_until_closed(Listener& listener, int fd) {
    auto closed = std::async(std::launch::async, [fd] {
        std::size_t total = 0;
        char buffer[256];
        for (;;) {
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0) return total;
            total += static_cast<std::size_t>(n);
        }
    });
    const std::size_t accepted = pump_until(listener, closed);
    return {closed.get(), accepted};
}

const std::string cookie_a(40, 'a');
const std::string cookie_b(40, 'b');

}  // namespace

// prove() once built its message in an array shorter than a role and both nonces
// and wrote past its end on every handshake (tests/fuzz/regressions/handshake_fuzz/).
TEST_CASE("a proof is HMAC-SHA256 with the cookie over the role, its NUL and both nonces",
          "[transport][tcp]") {
    const detail::TcpCookie cookie{std::vector<unsigned char>(32, 'k'), "test"};
    detail::handshake::Nonce first{};
    detail::handshake::Nonce second{};
    for (std::size_t i = 0; i < first.size(); ++i) {
        first[i] = static_cast<unsigned char>(i);
        second[i] = static_cast<unsigned char>(0xff - i);
    }
    for (const char* role : {"courier tcp connector", "courier tcp listener"}) {
        // docs/protocol.md, "The tcp: handshake", spelled out.
        std::vector<unsigned char> message(role, role + std::strlen(role) + 1);
        message.insert(message.end(), first.begin(), first.end());
        message.insert(message.end(), second.begin(), second.end());
        detail::handshake::Proof expected{};
        unsigned int length = 0;
        REQUIRE(HMAC(EVP_sha256(), cookie.secret.data(), static_cast<int>(cookie.secret.size()),
                     message.data(), message.size(), expected.data(), &length));
        REQUIRE(length == expected.size());
        CHECK(detail::handshake::prove(cookie, role, first, second) == expected);
    }
    const std::string too_long(40, 'r');
    CHECK_THROWS_AS(detail::handshake::prove(cookie, too_long.c_str(), first, second),
                    std::invalid_argument);
}

TEST_CASE("a connector whose cookie differs is told it was refused, and no link is accepted",
          "[transport][tcp][security]") {
    TempDir dir;
    ScopedEnv env("COURIER_COOKIE", write_cookie(dir, "a", cookie_a));
    auto listener = TransportRegistry::builtin().listen(tcp_loopback_endpoint());
    env.set(write_cookie(dir, "b", cookie_b));
    auto client = std::async(std::launch::async, [&] {
        try {
            TransportRegistry::builtin().connect(listener->endpoint());
            return std::string("connected");
        } catch (const LinkError& e) {
            return std::string(e.what());
        }
    });
    CHECK(pump_until(*listener, client) == 0);
    CHECK_THAT(client.get(), Catch::Contains("refused our tcp cookie") &&
                                 Catch::Contains((dir.path() / "b").string()));

    SECTION("the same cookie is accepted") {
        env.set(write_cookie(dir, "a2", cookie_a));
        auto connected = std::async(std::launch::async, [&] {
            return TransportRegistry::builtin().connect(listener->endpoint());
        });
        auto server = accept_one(*listener);
        auto link = connected.get();
        link->send(pattern(10, 1));
        CHECK(receive_frames(*server, 1).frames.size() == 1);
    }
}

TEST_CASE("a listener that does not prove it knows the cookie is refused by the connector",
          "[transport][tcp][security]") {
    TempDir dir;
    ScopedEnv env("COURIER_COOKIE", write_cookie(dir, "a", cookie_a));
    // A fake listener: courier's challenge, then '+' and a proof of zeros.
    Fd fake(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fake.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fake.get(), 1) == 0);
    socklen_t size = sizeof address;
    REQUIRE(::getsockname(fake.get(), reinterpret_cast<sockaddr*>(&address), &size) == 0);
    const Endpoint endpoint{"tcp", "127.0.0.1:" + std::to_string(ntohs(address.sin_port))};
    auto impostor = std::async(std::launch::async, [&] {
        Fd peer(::accept4(fake.get(), nullptr, nullptr, SOCK_CLOEXEC));
        std::vector<unsigned char> challenge(detail::handshake::magic.begin(),
                                             detail::handshake::magic.end());
        challenge.resize(detail::handshake::challenge_size, 7);
        write_raw(peer.get(), std::as_bytes(std::span(challenge)));
        std::vector<unsigned char> answer(detail::handshake::answer_size);
        std::size_t got = 0;
        while (got < answer.size()) {
            const ssize_t n = ::recv(peer.get(), answer.data() + got, answer.size() - got, 0);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        std::vector<unsigned char> verdict(detail::handshake::verdict_size, 0);
        verdict[0] = detail::handshake::accepted;
        write_raw(peer.get(), std::as_bytes(std::span(verdict)));
        char byte;
        return ::recv(peer.get(), &byte, 1, 0);  // 0: the connector closed, sending nothing
    });
    try {
        TransportRegistry::builtin().connect(endpoint);
        FAIL("the connector accepted the impostor");
    } catch (const LinkError& e) {
        CHECK_THAT(e.what(), Catch::Contains("does not know our tcp cookie"));
    }
    CHECK(impostor.get() == 0);
}

TEST_CASE(
    "a stranger is refused without a link: bytes that are not the handshake at once "
    "(a frame's length too), silence at the handshake's deadline",
    "[transport][tcp][security]") {
    TempDir dir;
    ScopedEnv env("COURIER_COOKIE", write_cookie(dir, "a", cookie_a));
    TransportOptions options;
    options.handshake_timeout = std::chrono::milliseconds(200);
    auto listener = TransportRegistry::builtin().listen(tcp_loopback_endpoint(), options);

    SECTION("an HTTP request") {
        Fd raw = stranger(listener->endpoint());
        const std::string request = "GET / HTTP/1.0\r\n\r\n";
        write_raw(raw.get(), std::as_bytes(std::span(request)));
        const auto [read, accepted] = read_until_closed(*listener, raw.get());
        CHECK(read == detail::handshake::challenge_size);  // the challenge, and nothing more
        CHECK(accepted == 0);
    }
    SECTION("a frame's length prefix, as if there were no handshake") {
        Fd raw = stranger(listener->endpoint());
        write_raw(raw.get(), length_prefix(4U << 20));
        const auto [read, accepted] = read_until_closed(*listener, raw.get());
        CHECK(read == detail::handshake::challenge_size);
        CHECK(accepted == 0);
    }
    SECTION("the magic, then silence") {
        Fd raw = stranger(listener->endpoint());
        write_raw(raw.get(), std::as_bytes(std::span(detail::handshake::magic)));
        const auto [read, accepted] = read_until_closed(*listener, raw.get());
        CHECK(read == detail::handshake::challenge_size);
        CHECK(accepted == 0);
    }
    SECTION("past 64 connections in their handshake, the next is closed at once") {
        listener = TransportRegistry::builtin().listen(tcp_loopback_endpoint());  // 5 s each
        std::vector<Fd> waiting;
        for (std::size_t i = 0; i < detail::TcpListener::max_pending; ++i) {
            waiting.push_back(stranger(listener->endpoint()));
            char challenge[detail::handshake::challenge_size];
            REQUIRE(wait_readable(listener->poll_fd()));
            CHECK(listener->accept() == nullptr);
            CHECK(::recv(waiting.back().get(), challenge, sizeof challenge, MSG_WAITALL) ==
                  static_cast<ssize_t>(sizeof challenge));
        }
        Fd one_more = stranger(listener->endpoint());
        const auto [read, accepted] = read_until_closed(*listener, one_more.get());
        CHECK(read == 0);  // not even a challenge
        CHECK(accepted == 0);
    }
}

TEST_CASE(
    "the default cookie is made on first use: 32 random bytes in hex, mode 0600, in a "
    "directory of mode 0700, and read back the same",
    "[transport][tcp][security]") {
    TempDir dir;
    ScopedEnv named("COURIER_COOKIE", std::nullopt);
    ScopedEnv config("XDG_CONFIG_HOME", dir.path().string());
    const auto where = detail::cookie_location();
    CHECK(where.path == dir.path() / "courier" / "cookie");
    CHECK(where.may_create);
    const auto made = detail::load_cookie(where);
    CHECK(made.secret.size() == 64);
    CHECK(detail::load_cookie(where).secret == made.secret);
    struct stat file {
    }, folder{};
    REQUIRE(::stat(where.path.c_str(), &file) == 0);
    REQUIRE(::stat(where.path.parent_path().c_str(), &folder) == 0);
    CHECK((file.st_mode & 0777) == 0600);
    CHECK((folder.st_mode & 0777) == 0700);
    // Another place makes another secret.
    TempDir other;
    config.set(other.path().string());
    CHECK(detail::load_cookie(detail::cookie_location()).secret != made.secret);
}

TEST_CASE(
    "a cookie that others may read, a short one, a named file that is missing, and one "
    "of another owner are refused, each saying what to do",
    "[transport][tcp][security]") {
    TempDir dir;
    auto refusal = [](const std::string& path) {
        try {
            detail::load_cookie({path, false});
            return std::string("loaded");
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
    };
    CHECK_THAT(refusal(write_cookie(dir, "open", cookie_a, 0644)),
               Catch::Contains("mode 0644") && Catch::Contains("chmod 600"));
    CHECK_THAT(refusal(write_cookie(dir, "short", "abc")), Catch::Contains("must hold 16"));
    CHECK_THAT(refusal((dir.path() / "missing").string()), Catch::Contains("does not exist"));
    if (::geteuid() == 0) {
        const auto theirs = write_cookie(dir, "theirs", cookie_a);
        REQUIRE(::chown(theirs.c_str(), 65534, 65534) == 0);
        CHECK_THAT(refusal(theirs), Catch::Contains("belongs to uid 65534"));
    }
    // A connect with such a cookie fails before it connects.
    ScopedEnv env("COURIER_COOKIE", (dir.path() / "open").string());
    CHECK_THROWS_WITH(TransportRegistry::builtin().connect(Endpoint{"tcp", "127.0.0.1:9"}),
                      Catch::Contains("chmod 600"));
}

TEST_CASE(
    "a process of another user gets no tcp link: it cannot read our cookie, and its own "
    "is refused",
    "[transport][tcp][security]") {
    if (::geteuid() != 0) {
        WARN("not run: it needs root, to become another user");
        return;
    }
    constexpr uid_t nobody = 65534;
    TempDir dir;
    ScopedEnv env("COURIER_COOKIE", write_cookie(dir, "ours", cookie_a));
    auto listener = TransportRegistry::builtin().listen(tcp_loopback_endpoint());
    // A home of theirs, where their own cookie is made.
    const auto home = dir.path() / "home";
    REQUIRE(::mkdir(home.c_str(), 0700) == 0);
    REQUIRE(::chown(home.c_str(), nobody, nobody) == 0);
    REQUIRE(::chmod(dir.path().c_str(), 0711) == 0);
    const Endpoint endpoint = listener->endpoint();
    // The child reports: 1 = could not read our cookie, 2 = its own cookie was refused.
    auto child = std::async(std::launch::async, [&] {
        const pid_t pid = ::fork();
        if (pid == 0) {
            int result = 0;
            if (::setgroups(0, nullptr) == 0 && ::setresgid(nobody, nobody, nobody) == 0 &&
                ::setresuid(nobody, nobody, nobody) == 0) {
                try {
                    TransportRegistry::builtin().connect(endpoint);
                } catch (const std::runtime_error& e) {
                    if (std::string(e.what()).find("Permission denied") != std::string::npos)
                        result |= 1;
                }
                ::unsetenv("COURIER_COOKIE");
                ::setenv("XDG_CONFIG_HOME", home.c_str(), 1);
                try {
                    TransportRegistry::builtin().connect(endpoint);
                } catch (const LinkError& e) {
                    if (std::string(e.what()).find("refused our tcp cookie") != std::string::npos)
                        result |= 2;
                }
            }
            ::_exit(result);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    });
    CHECK(pump_until(*listener, child) == 0);
    CHECK(child.get() == 3);
}
