// Placement (docs/multihost.md, "Placement"), with two "hosts" on loopback: a node of
// alpha starts a program on beta by the host's name, through beta's courierd, which
// starts only what its config offers ([registry.placeable]). The placed program is a node
// of beta: its actor answers from alpha by name@host, and stop_placed ends it. What beta
// does not offer, extra arguments it does not allow, a program it cannot start, a host
// that is not up and a node with another cookie each get their own error. In etcd mode
// the other host's courierd is found through its key in etcd.

#include "etcd_server.hpp"
#include "federation_support.hpp"
#include "spawn_messages.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

using namespace courier;
using namespace courier::test;

namespace {

/// Beta's offer: `echo`, the test's spawned node, which takes the asker's arguments;
/// `fixed`, the same with its own arguments only; `missing`, a program that is not there;
/// `nap`, a sleep (no node: many of them cost little).
/// Its nodes listen on tcp, so alpha's reach them.
std::string beta_offers() {
    const std::string node = (bin_dir() / "courier-test-spawned-node").string();
    return "[registry.placeable.echo]\nargv = [\"" + node +
           "\"]\nextra_args = true\n"
           "[registry.placeable.fixed]\nargv = [\"" +
           node +
           "\", \"fixed\", \"nobody\", \"--names\", \"fixed-echo\", \"--no-report\"]\n"
           "[registry.placeable.missing]\nargv = [\"/nonexistent/courier-placed-program\"]\n"
           "[registry.placeable.nap]\nargv = [\"/bin/sleep\", \"120\"]\n"
           "[transport.tcp]\nlisten = \"127.0.0.1:0\"\n";
}

/// alpha and beta on loopback, beta offering beta_offers(): runs `body` with a node of
/// alpha named `node`, a client of alpha's courierd and the hosts, once beta is up on alpha.
void placing_on_beta(const char* node,
                     const std::function<void(Node&, RegistryClient&, LoopbackPair&)>& body) {
    LoopbackPair hosts({}, beta_offers());
    {
        Node near(hosts.a.node(node));
        RegistryClient alpha(hosts.a.dir.options());
        REQUIRE(eventually([&] { return alpha.lookup_host("beta").found; }, 10s));
        body(near, alpha, hosts);
    }
    CHECK(hosts.finish());
}

}  // namespace

TEST_CASE(
    "a node places a program another host offers by the host's name and its actor answers "
    "by name@host until stop_placed ends it while what the host does not offer is refused",
    "[process][federation][placement]") {
    placing_on_beta("placer", [](Node& near, RegistryClient& alpha, LoopbackPair& hosts) {
        const auto placed = near.place(
            {"beta", "echo", {"placed", "placer", "--names", "placed-echo", "--no-report"}});
        REQUIRE(placed);
        CHECK(placed->host == "beta");
        CHECK(placed->pid > 0);
        const auto where = alpha.lookup("placed-echo@beta", 10s);
        REQUIRE(where.found);
        CHECK(where.pid == placed->pid);
        CHECK(where.node == "placed@beta");
        auto pong = near.request<spawn_wire::Pong>("placed-echo@beta", spawn_wire::Ping{41}, 10s);
        INFO((pong ? std::string() : pong.error().message));
        REQUIRE(pong);
        CHECK(pong->n == 42);

        // Its own arguments only: the config's.
        const auto fixed = near.place({"beta", "fixed", {}});
        REQUIRE(fixed);
        REQUIRE(alpha.lookup("fixed-echo@beta", 10s).pid == fixed->pid);

        auto refused = near.place({"beta", "fixed", {"--names", "other"}});
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == ErrorCode::refused);
        CHECK_THAT(refused.error().message, Catch::Contains("its own arguments only"));
        refused = near.place({"beta", "shell", {}});
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == ErrorCode::refused);
        CHECK_THAT(refused.error().message,
                   Catch::Contains("no program 'shell'") && Catch::Contains("echo, fixed"));
        auto failed = near.place({"beta", "missing", {}});
        REQUIRE_FALSE(failed);
        CHECK(failed.error().code == ErrorCode::os_error);
        CHECK_THAT(failed.error().message, Catch::Contains("/nonexistent/courier-placed-program"));
        auto nowhere = near.place({"gamma", "echo", {}});
        REQUIRE_FALSE(nowhere);
        CHECK(nowhere.error().code == ErrorCode::unknown_name);
        CHECK_THAT(nowhere.error().message, Catch::Contains("host 'gamma' is not up"));

        // stop_placed ends each (SIGTERM: a clean stop, its names unregistered); once it
        // has ended, beta no longer knows the pid.
        NameDownBox downs;
        alpha.on_name_down(downs.handler());
        REQUIRE(alpha.watch("placed-echo@beta").found);
        REQUIRE(alpha.watch("fixed-echo@beta").found);
        REQUIRE(near.stop_placed(*placed));
        REQUIRE(near.stop_placed(*fixed));
        for (const char* name : {"placed-echo@beta", "fixed-echo@beta"}) {
            auto down = downs.wait_for(name, 10s);
            REQUIRE(down);
            CHECK(down->reason == registry::down_unregistered);
        }
        REQUIRE(eventually([&] { return !near.stop_placed(*placed); }, 10s));
        const auto gone = near.stop_placed(*placed);
        REQUIRE_FALSE(gone);
        CHECK(gone.error().code == ErrorCode::refused);
        CHECK_THAT(gone.error().message, Catch::Contains("or it has ended"));
        REQUIRE(eventually([&] { return !near.stop_placed(*fixed); }, 10s));

        // The same from the command line.
        const std::string courier = (bin_dir() / "courier").string();
        const std::string dir = hosts.a.dir.path().string();
        auto cli = run_command({courier, "place", "beta", "echo", "--runtime-dir", dir, "--", "cli",
                                "placer", "--names", "cli-echo", "--no-report"});
        REQUIRE(cli.exit_code == 0);
        const std::string said = "placed 'echo' on host 'beta': pid ";
        REQUIRE_THAT(cli.out, Catch::StartsWith(said));
        const std::int64_t pid = std::stoll(cli.out.substr(said.size()));
        REQUIRE(alpha.lookup("cli-echo@beta", 10s).pid == pid);
        CHECK(run_command({courier, "place", "beta", "shell", "--runtime-dir", dir}).exit_code ==
              1);
        REQUIRE(alpha.watch("cli-echo@beta").found);
        cli = run_command({courier, "unplace", "beta", std::to_string(pid), "--runtime-dir", dir});
        CHECK(cli.exit_code == 0);
        CHECK(cli.out == "stopped pid " + std::to_string(pid) + " on host 'beta'\n");
        REQUIRE(downs.wait_for("cli-echo@beta", 10s));
        REQUIRE(eventually([&] { return !near.stop_placed({"beta", pid}); }, 10s));

        // A program that does not stop on SIGTERM: StopSignal::kill (`unplace --kill`)
        // ends it, and its names go as a dead node's do.
        const auto stubborn = near.place({"beta",
                                          "echo",
                                          {"stubborn", "placer", "--names", "stubborn-echo",
                                           "--no-report", "--ignore-sigterm"}});
        REQUIRE(stubborn);
        REQUIRE(alpha.lookup("stubborn-echo@beta", 10s).pid == stubborn->pid);
        REQUIRE(alpha.watch("stubborn-echo@beta").found);
        REQUIRE(near.stop_placed(*stubborn));
        CHECK_FALSE(downs.wait_for("stubborn-echo@beta", 300ms));
        cli = run_command({courier, "unplace", "beta", std::to_string(stubborn->pid), "--kill",
                           "--runtime-dir", dir});
        CHECK(cli.exit_code == 0);
        auto killed = downs.wait_for("stubborn-echo@beta", 10s);
        REQUIRE(killed);
        CHECK(killed->reason == registry::down_node_exited);
        REQUIRE(eventually([&] { return !near.stop_placed(*stubborn, StopSignal::kill); }, 10s));
    });
}

TEST_CASE(
    "a node whose cookie the other host's courierd does not share cannot place there and "
    "a host that offers nothing refuses",
    "[process][federation][placement]") {
    placing_on_beta("placer", [](Node& near, RegistryClient& alpha, LoopbackPair&) {
        // alpha offers nothing: its own courierd refuses (a node may place on its own host).
        auto here = near.place({"alpha", "echo", {}});
        REQUIRE_FALSE(here);
        CHECK(here.error().code == ErrorCode::refused);
        CHECK_THAT(here.error().message, Catch::Contains("places no programs"));

        const std::string shared = std::getenv("COURIER_COOKIE");
        const auto other = std::filesystem::path(shared).string() + "-other";
        std::ofstream(other) << std::string(40, 'e') << '\n';
        REQUIRE(::chmod(other.c_str(), 0600) == 0);
        ::setenv("COURIER_COOKIE", other.c_str(), 1);
        auto stranger = near.place({"beta", "echo", {"x", "y", "--names", "z", "--no-report"}});
        ::setenv("COURIER_COOKIE", shared.c_str(), 1);
        std::filesystem::remove(other);
        REQUIRE_FALSE(stranger);
        CHECK(stranger.error().code == ErrorCode::link_failed);
        CHECK_THAT(stranger.error().message,
                   Catch::Contains("host 'beta'") && Catch::Contains("cookie"));
        // Nothing was started: the same placement with the shared cookie is beta's first.
        CHECK_FALSE(alpha.lookup("z@beta").found);
    });
}

TEST_CASE("a host runs at most 256 placed programs and refuses the next until one has ended",
          "[process][federation][placement]") {
    placing_on_beta("napper", [](Node& near, RegistryClient&, LoopbackPair&) {
        std::vector<PlacedProcess> naps;
        for (std::size_t i = 0; i < 256; ++i) {
            auto placed = near.place({"beta", "nap", {}});
            if (!placed) FAIL("placement " << i << ": " << placed.error().message);
            naps.push_back(*placed);
        }
        auto refused = near.place({"beta", "nap", {}});
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == ErrorCode::refused);
        CHECK_THAT(refused.error().message, Catch::Contains("runs 256 placed programs already"));

        // One ends (its courierd reaps it): there is room for one more, and one only.
        REQUIRE(near.stop_placed(naps.back()));
        naps.pop_back();
        std::optional<PlacedProcess> again;
        REQUIRE(eventually(
            [&] {
                auto placed = near.place({"beta", "nap", {}});
                if (placed) again = *placed;
                return placed.has_value();
            },
            10s));
        naps.push_back(*again);
        CHECK_FALSE(near.place({"beta", "nap", {}}));

        for (const auto& nap : naps) CHECK(near.stop_placed(nap));
        // Each is reaped: then its pid is no longer one beta placed.
        for (const auto& nap : naps) CHECK(eventually([&] { return !near.stop_placed(nap); }, 10s));
    });
}

TEST_CASE(
    "a placed program outlives its host's courierd and keeps its names: it starts the next "
    "one, which serves as its host with the config the first one read",
    "[process][federation][placement]") {
    placing_on_beta("keeper", [](Node& near, RegistryClient& alpha, LoopbackPair& hosts) {
        // No parent guard: the test's spawned node would otherwise end with its registry.
        const auto placed = near.place(
            {"beta",
             "echo",
             {"kept", "keeper", "--names", "kept-echo", "--no-report", "--no-parent-guard"}});
        REQUIRE(placed);
        REQUIRE(alpha.lookup("kept-echo@beta", 10s).pid == placed->pid);

        // A clean stop lets its placed programs be (as a node's children outlive it).
        hosts.b.stop();
        // The placed node connects again and starts a courierd, from the config beta's gave
        // it (COURIER_CONFIG_TOML): beta is back for alpha, with the same name and pid.
        REQUIRE(eventually(
            [&] {
                const auto where = alpha.lookup("kept-echo@beta");
                return where.found && where.pid == placed->pid;
            },
            15s));
        const pid_t next = serving_courierd(hosts.b.dir.path());
        REQUIRE(next > 0);
        auto pong = near.request<spawn_wire::Pong>("kept-echo@beta", spawn_wire::Ping{1}, 10s);
        REQUIRE(pong);
        CHECK(pong->n == 2);
        // The next courierd did not place it: it is not one of its own to stop.
        const auto not_ours = near.stop_placed(*placed);
        REQUIRE_FALSE(not_ours);
        CHECK(not_ours.error().code == ErrorCode::refused);

        NameDownBox downs;
        alpha.on_name_down(downs.handler());
        REQUIRE(alpha.watch("kept-echo@beta").found);
        // Ended, and gone, before its courierd: a node that stops while its courierd is
        // gone would start another. It is not our child: its exit is seen through a pidfd.
        Fd exited(static_cast<int>(::syscall(SYS_pidfd_open, placed->pid, 0u)));
        REQUIRE(exited);
        REQUIRE(::kill(static_cast<pid_t>(placed->pid), SIGTERM) == 0);
        REQUIRE(downs.wait_for("kept-echo@beta", 10s));
        pollfd gone{exited.get(), POLLIN, 0};
        REQUIRE(::poll(&gone, 1, 10'000) == 1);
        REQUIRE(::kill(next, SIGTERM) == 0);
        REQUIRE(eventually([&] { return serving_courierd(hosts.b.dir.path()) == 0; }, 10s));
    });
}

TEST_CASE(
    "a placed program bound to an actor of the asker's host gets SIGKILL when that actor "
    "stops and one bound to a name its host does not know is refused",
    "[process][federation][placement]") {
    placing_on_beta("placer", [](Node& near, RegistryClient& alpha, LoopbackPair& hosts) {
        Placement bound{
            "beta", "echo", {"bound", "placer", "--names", "bound-echo", "--no-report"}};
        bound.bound_to = "nobody";
        auto refused = near.place(bound);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == ErrorCode::refused);
        CHECK_THAT(refused.error().message, Catch::Contains("'nobody@alpha'"));

        near.spawn("anchor", [](Actor&) {});
        RegistryClient beta(hosts.b.dir.options());
        REQUIRE(beta.lookup("anchor@alpha", 10s).found);
        bound.bound_to = "anchor";
        const auto placed = near.place(bound);
        REQUIRE(placed);
        REQUIRE(alpha.lookup("bound-echo@beta", 10s).pid == placed->pid);
        NameDownBox downs;
        alpha.on_name_down(downs.handler());
        REQUIRE(alpha.watch("bound-echo@beta").found);
        near.stop("anchor");
        const auto down = downs.wait_for("bound-echo@beta", 10s);
        REQUIRE(down);
        CHECK(down->reason == registry::down_node_exited);
        REQUIRE(eventually([&] { return ::kill(static_cast<pid_t>(placed->pid), 0) != 0; }, 10s));
    });
}

TEST_CASE("etcd mode: a node places a program on a host whose courierd it finds through etcd",
          "[process][federation][placement][etcd]") {
    EtcdServer etcd;
    SharedCookie cookie;
    Host a{"alpha", "127.0.0.1", 0};
    Host b{"beta", "127.0.0.1", 0};
    a.configure_etcd(etcd.endpoint());
    b.configure_etcd(etcd.endpoint(), "listen = \"tcp://127.0.0.1:0\"\n" + beta_offers());
    a.start();
    b.start();
    {
        Node near(a.node("placer"));
        RegistryClient alpha(a.dir.options());
        REQUIRE(eventually([&] { return alpha.lookup_host("beta").found; }, 10s));
        CHECK_THAT(alpha.lookup_host("beta").endpoint, Catch::StartsWith("tcp://127.0.0.1:"));
        // alpha listens for no host: nobody can place there.
        const auto unlisted = alpha.lookup_host("alpha");
        CHECK_FALSE(unlisted.found);
        CHECK_THAT(unlisted.error, Catch::Contains("listens for no host"));

        const auto placed = near.place(
            {"beta", "echo", {"placed", "placer", "--names", "placed-echo", "--no-report"}});
        REQUIRE(placed);
        REQUIRE(alpha.lookup("placed-echo@beta", 10s).pid == placed->pid);
        auto pong = near.request<spawn_wire::Pong>("placed-echo", spawn_wire::Ping{7}, 10s);
        REQUIRE(pong);
        CHECK(pong->n == 8);
        NameDownBox downs;
        alpha.on_name_down(downs.handler());
        REQUIRE(alpha.watch("placed-echo@beta").found);
        REQUIRE(near.stop_placed(*placed));
        REQUIRE(downs.wait_for("placed-echo@beta", 10s));
        REQUIRE(eventually([&] { return !near.stop_placed(*placed); }, 10s));
    }
    a.stop();
    b.stop();
    CHECK(a.dir.wait_until_empty());
    CHECK(b.dir.wait_until_empty());
}

TEST_CASE(
    "a supervisor keeps its child on another host: one killed there is placed again and the "
    "supervisor's stop ends it",
    "[process][federation][placement][supervisor]") {
    placing_on_beta("boss", [](Node& boss, RegistryClient& alpha, LoopbackPair&) {
        SupervisorSpec spec;
        ChildSpec far;
        far.id = "far";
        far.host = "beta";
        far.process.argv = {"echo", "far-node", "boss", "--names", "far-echo", "--no-report"};
        far.names = {"far-echo"};
        spec.children.push_back(far);
        ChildSpec nameless = far;
        nameless.names.clear();
        CHECK_THROWS_WITH(Supervisor(SupervisorSpec{.children = {nameless}}),
                          Catch::Contains("needs names"));
        boss.spawn<Supervisor>("sup", spec);

        const auto first = alpha.lookup("far-echo@beta", 10s);
        REQUIRE(first.found);
        auto pong = boss.request<spawn_wire::Pong>("far-echo@beta", spawn_wire::Ping{1}, 10s);
        REQUIRE(pong);
        CHECK(pong->n == 2);
        auto children = boss.request<Children>("sup", WhichChildren{}, 10s);
        REQUIRE(children);
        REQUIRE(children->children.size() == 1);
        CHECK(children->children[0].host == "beta");
        CHECK(children->children[0].pid == first.pid);
        CHECK(children->children[0].state == "running");

        // Killed on its host: the Down of its name tells the supervisor, which places it again.
        REQUIRE(::kill(static_cast<pid_t>(first.pid), SIGKILL) == 0);
        REQUIRE(eventually(
            [&] {
                const auto now = alpha.lookup("far-echo@beta");
                return now.found && now.pid != first.pid;
            },
            15s));
        const auto second = alpha.lookup("far-echo@beta");
        REQUIRE(eventually(
            [&] {
                auto c = boss.request<Children>("sup", WhichChildren{}, 10s);
                return c && c->children.at(0).state == "running" &&
                       c->children.at(0).pid == second.pid && c->children.at(0).restarts == 1;
            },
            10s));
        pong = boss.request<spawn_wire::Pong>("far-echo@beta", spawn_wire::Ping{5}, 10s);
        REQUIRE(pong);
        CHECK(pong->n == 6);

        // The supervisor stops: its child on beta is stopped there, and its process ends.
        boss.stop("sup");
        REQUIRE(eventually([&] { return !alpha.lookup("far-echo@beta").found; }, 10s));
        REQUIRE(eventually([&] { return ::kill(static_cast<pid_t>(second.pid), 0) != 0; }, 10s));
    });
}
