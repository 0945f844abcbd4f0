// The federation across real network stacks (docs/multihost.md): two network namespaces
// joined by a veth pair, each a host with its own courierd and node, addressed only
// inside them. The link between them is cut (the veth set down) and restored: the names
// of the host beyond it go down within registry.host_down_ms, and come back. A node of one
// host places a program on the other, through that host's courierd. Needs root (ip
// netns); skipped with a message otherwise.

#include "federation_support.hpp"
#include "node_support.hpp"
#include "spawn_messages.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>

using namespace courier;
using namespace courier::test;

namespace {

constexpr const char* ip_tool = "/usr/sbin/ip";

bool ip(const std::vector<std::string>& args) {
    std::vector<std::string> argv{ip_tool};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv).exit_code == 0;
}

/// Two namespaces and a veth pair between them, `<a>` 10.231.0.1/24 and `<b>` 10.231.0.2/24;
/// gone with the object (deleting a namespace deletes its end of the pair, and the pair).
struct TwoNamespaces {
    const std::string tag = std::to_string(::getpid());
    const std::string a = "courier-" + tag + "-a", b = "courier-" + tag + "-b";
    const std::string veth_a = "cv" + tag + "a", veth_b = "cv" + tag + "b";
    bool made = false;

    TwoNamespaces() {
        made = ip({"netns", "add", a}) && ip({"netns", "add", b}) &&
               ip({"link", "add", veth_a, "type", "veth", "peer", "name", veth_b}) &&
               ip({"link", "set", veth_a, "netns", a}) && ip({"link", "set", veth_b, "netns", b}) &&
               ip({"-n", a, "addr", "add", "10.231.0.1/24", "dev", veth_a}) &&
               ip({"-n", b, "addr", "add", "10.231.0.2/24", "dev", veth_b}) &&
               ip({"-n", a, "link", "set", "lo", "up"}) &&
               ip({"-n", b, "link", "set", "lo", "up"}) &&
               ip({"-n", a, "link", "set", veth_a, "up"}) &&
               ip({"-n", b, "link", "set", veth_b, "up"});
    }
    ~TwoNamespaces() {
        ip({"netns", "del", a});
        ip({"netns", "del", b});
    }
    bool cut(bool down) { return ip({"-n", a, "link", "set", veth_a, down ? "down" : "up"}); }
};

/// alpha in one namespace, beta in the other, sharing a cookie; each test configures and
/// starts their courierds. `usable` is false, with a warning, where namespaces cannot be
/// made (not root, no ip): the test is skipped.
struct NamespacedHosts {
    const bool usable = ::geteuid() == 0 && ::access(ip_tool, X_OK) == 0;
    std::optional<TwoNamespaces> net;
    SharedCookie cookie;
    std::optional<Host> a, b;

    NamespacedHosts() {
        if (!usable) return;
        net.emplace();
        a.emplace("alpha", "10.231.0.1", 7100, net->a);
        b.emplace("beta", "10.231.0.2", 7100, net->b);
    }
    /// Stops both courierds; true when both left their directories empty.
    bool finish() {
        a->stop();
        b->stop();
        return a->dir.wait_until_empty() && b->dir.wait_until_empty();
    }
};

/// In a forked child: moves the process into namespace `name`.
void enter(const std::string& name) {
    const int fd = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) ::_exit(3);
    ::close(fd);
}

}  // namespace

TEST_CASE(
    "across two network namespaces a name@host answers and with the veth cut its host is "
    "gone within host_down_ms (a monitor gets its Down) and restored it answers again",
    "[process][federation][netns]") {
    NamespacedHosts hosts;
    if (!hosts.usable) {
        WARN("skipped: network namespaces need root and " << ip_tool);
        return;
    }
    REQUIRE(hosts.net->made);
    TwoNamespaces& net = *hosts.net;
    Host& a = *hosts.a;
    Host& b = *hosts.b;
    a.configure({&b});
    b.configure({&a});
    a.start();
    b.start();
    {
        auto far = Child::fork([&](ChildChannel& channel) {
            enter(net.b);
            Node node(b.node("far"));
            node.spawn("echo", echo);
            channel.send('r');
            while (char c = channel.receive())
                if (c == 'q') break;
            return 0;
        });
        REQUIRE(far.expect('r'));
        // Asks echo@beta until it answers ('o'), reports its monitor's Down ('d'), and after
        // the parent's 'c' asks again until it answers ('o').
        auto near = Child::fork([&](ChildChannel& channel) {
            enter(net.a);
            Node node(a.node("near"));
            auto ask_until_answered = [&] {
                const auto deadline = std::chrono::steady_clock::now() + 20s;
                while (std::chrono::steady_clock::now() < deadline) {
                    auto pong = node.request<wire::Pong>("echo@beta", wire::Ping{1}, 1s);
                    if (pong && pong->n == 2) return true;
                }
                return false;
            };
            if (!ask_until_answered()) return 4;
            node.spawn("watcher", [&](Actor& self) {
                self.handle<Down>([&](Down& down) {
                    channel.send(down.reason == DownReason::unreachable ? 'd' : 'x');
                });
                self.handle<wire::Ping>([&](wire::Ping&) { self.reply(wire::Pong{0}); });
                self.monitor("echo@beta");
            });
            // Its monitor is asked for before it answers this.
            if (!node.request<wire::Pong>("watcher", wire::Ping{0}, 5s)) return 5;
            channel.send('o');
            if (channel.receive() != 'c') return 6;
            channel.send(ask_until_answered() ? 'o' : 'n');
            while (char c = channel.receive())
                if (c == 'q') break;
            return 0;
        });
        REQUIRE(near.expect('o', 30s));

        REQUIRE(net.cut(true));
        const auto cut = std::chrono::steady_clock::now();
        REQUIRE(near.expect('d', 10s));
        // host_down_ms is 600, beats every 100 ms: well within seconds.
        CHECK(std::chrono::steady_clock::now() - cut < 5s);

        REQUIRE(net.cut(false));
        near.send('c');
        CHECK(near.expect('o', 30s));
        near.send('q');
        far.send('q');
        CHECK(near.wait_exit());
        CHECK(far.wait_exit());
    }
    CHECK(hosts.finish());
}

TEST_CASE(
    "across two network namespaces a node places a program on the other host through its "
    "courierd and the program's actor answers by name@host until stop_placed ends it",
    "[process][federation][netns][placement]") {
    NamespacedHosts hosts;
    if (!hosts.usable) {
        WARN("skipped: network namespaces need root and " << ip_tool);
        return;
    }
    REQUIRE(hosts.net->made);
    TwoNamespaces& net = *hosts.net;
    Host& a = *hosts.a;
    Host& b = *hosts.b;
    a.configure({&b});
    // What beta offers; its courierd starts it in beta's namespace, its node listening there.
    const std::string program = (bin_dir() / "courier-test-spawned-node").string();
    b.configure({&a}, "[registry.placeable.echo]\nargv = [\"" + program +
                          "\"]\nextra_args = true\n[transport.tcp]\nlisten = \"10.231.0.2:0\"\n");
    a.start();
    b.start();
    {
        // Places echo on beta ('p'), asks it by name@host ('o'), stops it and sees its name
        // go ('s'); any other letter says which step failed.
        auto near = Child::fork([&](ChildChannel& channel) {
            enter(net.a);
            Node node(a.node("placer"));
            RegistryClient alpha(a.dir.options());
            const auto deadline = std::chrono::steady_clock::now() + 20s;
            while (!alpha.lookup_host("beta").found)
                if (std::chrono::steady_clock::now() > deadline) return 3;
            auto placed = node.place(
                {"beta", "echo", {"placed", "placer", "--names", "placed-echo", "--no-report"}});
            if (!placed) return 4;
            channel.send('p');
            const auto where = alpha.lookup("placed-echo@beta", 10s);
            if (!where.found || where.pid != placed->pid) return 5;
            auto pong =
                node.request<spawn_wire::Pong>("placed-echo@beta", spawn_wire::Ping{41}, 10s);
            if (!pong || pong->n != 42) return 6;
            channel.send('o');
            NameDownBox downs;
            alpha.on_name_down(downs.handler());
            if (!alpha.watch("placed-echo@beta").found) return 7;
            if (!node.stop_placed(*placed)) return 8;
            if (!downs.wait_for("placed-echo@beta", 10s)) return 9;
            channel.send('s');
            return 0;
        });
        const bool steps = near.expect('p', 30s) && near.expect('o', 30s) && near.expect('s', 30s);
        const auto status = near.wait_exit(10s);
        INFO("the child exited with " << (status ? std::to_string(*status) : "nothing yet"));
        CHECK(steps);
        CHECK(status == 0);
    }
    CHECK(hosts.finish());
}
