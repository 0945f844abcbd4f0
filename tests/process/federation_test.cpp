// The federation of registries (docs/multihost.md), with two "hosts" on loopback: each a
// courierd of its own runtime directory, named by its config, listening for the other on
// a tcp port and dialing it. Nodes of one host reach the actors of the other by
// name@host and by their plain name; a host whose courierd stops answering (SIGSTOP) is
// taken as gone within registry.host_down_ms, its names' watchers and monitors told, and
// its names resolve again when it answers.

#include "node_support.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

using namespace courier;
using namespace courier::test;

namespace {

/// A tcp port of 127.0.0.1 that nothing listens on now.
int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t size = sizeof address;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    ::close(fd);
    return ntohs(address.sin_port);
}

/// One host of the federation: a runtime directory, a config, and its courierd.
struct Host {
    std::string name;
    int port = 0;
    TempRuntimeDir dir;
    std::filesystem::path config;
    std::optional<Program> courierd;

    Host(std::string host_name, int listen_port) : name(std::move(host_name)), port(listen_port) {}

    std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(port); }

    void configure(const std::vector<const Host*>& peers) {
        config = dir.path() / "federation.toml";
        std::ofstream out(config);
        out << "[registry]\nhost = \"" << name << "\"\nlisten = \"" << endpoint()
            << "\"\nheartbeat_ms = 100\nhost_down_ms = 600\npeers = [";
        for (const auto* peer : peers) out << "\"" << peer->endpoint() << "\", ";
        out << "]\n";
    }

    void start() {
        courierd.emplace(
            Program::start({(bin_dir() / "courierd").string(), "--runtime-dir", dir.path().string(),
                            "--foreground", "--idle-exit", "0", "--config", config.string()}));
        REQUIRE(eventually([&] { return std::filesystem::exists(dir.path() / "registry.sock"); }));
    }

    /// Stops its courierd cleanly (it removes its socket and lock).
    void stop() {
        if (!courierd) return;
        courierd->kill(SIGCONT);  // a stopped one must run to exit
        courierd->kill(SIGTERM);
        CHECK(courierd->wait_exit());
        courierd.reset();
        std::filesystem::remove(config);
    }

    /// A node of this host that listens on tcp, so other hosts' nodes can link to it.
    NodeOptions node(std::string node_name) const {
        return configured(dir, std::move(node_name), "[transport.tcp]\nlisten = \"127.0.0.1:0\"\n");
    }
};

/// The cookie both hosts share, as hosts of one federation do (docs/security.md): a file
/// beside the hosts' directories, which must end empty.
struct SharedCookie {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("courier-federation-cookie-" + std::to_string(::getpid()));
    SharedCookie() {
        std::ofstream(path) << std::string(40, 'f') << '\n';
        REQUIRE(::chmod(path.c_str(), 0600) == 0);
        ::setenv("COURIER_COOKIE", path.c_str(), 1);
    }
    ~SharedCookie() {
        ::unsetenv("COURIER_COOKIE");
        std::filesystem::remove(path);
    }
};

}  // namespace

TEST_CASE(
    "a name of another host resolves by name@host and by its plain name and the answer "
    "comes back while a name@host of no such host or actor is a clear error",
    "[process][federation]") {
    Host a("alpha", free_port());
    Host b("beta", free_port());
    SharedCookie cookie;
    a.configure({&b});
    b.configure({&a});
    a.start();
    b.start();
    {
        auto remote = spawn_node(b.node("far"), "echo", echo);
        REQUIRE(remote.expect('r'));
        {
            // Known to alpha once beta told it: a waiting lookup there sees it come.
            RegistryClient alpha(a.dir.options());
            const auto where = alpha.lookup("echo@beta", 10s);
            REQUIRE(where.found);
            CHECK(where.host == "beta");
            CHECK(where.node == "far@beta");
            CHECK(where.pid == remote.pid());
            CHECK(alpha.lookup("echo").host == "beta");  // no echo on alpha: beta's
            CHECK_FALSE(alpha.lookup("echo@alpha").found);
            CHECK_FALSE(alpha.lookup("echo@gamma").found);
        }
        Node near(a.node("near"));
        near.spawn("local", echo);
        auto pong = near.request<wire::Pong>("echo@beta", wire::Ping{1}, 10s);
        REQUIRE(pong);
        CHECK(pong->n == 2);
        pong = near.request<wire::Pong>("echo", wire::Ping{10}, 10s);
        REQUIRE(pong);
        CHECK(pong->n == 11);
        // This host's own name qualifies its own actors too.
        pong = near.request<wire::Pong>("local@alpha", wire::Ping{20}, 10s);
        REQUIRE(pong);
        CHECK(pong->n == 21);

        auto nobody = near.request<wire::Pong>("echo@gamma", wire::Ping{1}, 2s);
        REQUIRE_FALSE(nobody);
        CHECK(nobody.error().code == ErrorCode::unknown_name);
        CHECK_THAT(nobody.error().message, Catch::Contains("echo@gamma"));
        CHECK_THROWS_WITH(near.spawn("bad@name", echo), Catch::Contains("'@'"));
        remote.send('q');
        CHECK(remote.wait_exit());
    }
    a.stop();
    b.stop();
    CHECK(a.dir.wait_until_empty());
    CHECK(b.dir.wait_until_empty());
}

TEST_CASE(
    "a host whose courierd goes silent is gone within host_down_ms (watchers get NameDown "
    "'host lost' and monitors a Down) and when it answers again its names resolve again",
    "[process][federation]") {
    Host a("alpha", free_port());
    Host b("beta", free_port());
    SharedCookie cookie;
    a.configure({&b});
    b.configure({&a});
    a.start();
    b.start();
    {
        auto remote = spawn_node(b.node("far"), "echo", echo);
        REQUIRE(remote.expect('r'));
        RegistryClient alpha(a.dir.options());
        NameDownBox downs;
        alpha.on_name_down(downs.handler());
        REQUIRE(alpha.lookup("echo@beta", 10s).found);
        REQUIRE(alpha.watch("echo@beta").found);

        Node near(a.node("near"));
        Mailbag<Down> monitored;
        near.spawn("watcher", [&](Actor& self) {
            self.handle<Down>([&](Down& down) { monitored.put(down); });
            self.monitor("echo@beta");
        });
        // The monitor is in place once a request through the same name is answered.
        REQUIRE(near.request<wire::Pong>("echo@beta", wire::Ping{1}, 10s));

        const auto stopped = std::chrono::steady_clock::now();
        b.courierd->kill(SIGSTOP);
        auto down = downs.wait_for("echo@beta", 10s);
        const auto took = std::chrono::steady_clock::now() - stopped;
        REQUIRE(down);
        CHECK(down->reason == registry::down_host_lost);
        CHECK(down->node == "far@beta");
        // host_down_ms is 600 and beats come every 100 ms: told well within seconds.
        CHECK(took < 5s);
        auto told = monitored.take(10s);
        REQUIRE(told);
        CHECK(told->name == "echo@beta");
        CHECK(told->reason == DownReason::unreachable);
        CHECK_THAT(told->detail, Catch::Contains("unreachable"));
        CHECK_FALSE(alpha.lookup("echo@beta").found);

        b.courierd->kill(SIGCONT);
        const auto back = alpha.lookup("echo@beta", 10s);
        REQUIRE(back.found);
        CHECK(back.pid == remote.pid());
        auto pong = near.request<wire::Pong>("echo@beta", wire::Ping{5}, 10s);
        REQUIRE(pong);
        CHECK(pong->n == 6);
        remote.send('q');
        CHECK(remote.wait_exit());
    }
    a.stop();
    b.stop();
    CHECK(a.dir.wait_until_empty());
    CHECK(b.dir.wait_until_empty());
}

TEST_CASE("a courierd with another cookie is refused: neither host learns the other's names",
          "[process][federation][security]") {
    Host a("alpha", free_port());
    Host b("beta", free_port());
    SharedCookie cookie;
    a.configure({&b});
    b.configure({&a});
    a.start();
    // beta's courierd has a cookie of its own.
    const auto other = b.dir.path() / "other-cookie";
    std::ofstream(other) << std::string(40, 'e') << '\n';
    REQUIRE(::chmod(other.c_str(), 0600) == 0);
    b.courierd.emplace(
        Program::start({(bin_dir() / "courierd").string(), "--runtime-dir", b.dir.path().string(),
                        "--foreground", "--idle-exit", "0", "--config", b.config.string()},
                       {"COURIER_COOKIE=" + other.string()}));
    REQUIRE(eventually([&] { return std::filesystem::exists(b.dir.path() / "registry.sock"); }));
    {
        auto remote = spawn_node(b.node("far"), "echo", echo);
        REQUIRE(remote.expect('r'));
        RegistryClient alpha(a.dir.options());
        // Each has tried the other several times over by now (every 500 ms).
        CHECK_FALSE(alpha.lookup("echo@beta", 1500ms).found);
        remote.send('q');
        CHECK(remote.wait_exit());
    }
    a.stop();
    b.stop();
    std::filesystem::remove(other);
    CHECK(a.dir.wait_until_empty());
    CHECK(b.dir.wait_until_empty());
}
