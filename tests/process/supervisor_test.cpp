// Supervisor: real child processes (courier-test-spawned-node) started, killed and
// restarted by each strategy; a child that keeps crashing makes its supervisor give up
// (a monitor of it gets Down); the intensity counts all children's restarts and forgets
// those older than its period; backoff delays grow; children die with their parent; a
// child starts with its parent's config. No test leaves a zombie. Restart policies,
// starts and stops have files of their own (supervisor_*_test.cpp).

#include "spawn_messages.hpp"
#include "supervisor_support.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <map>
#include <thread>

namespace {

using namespace courier;
using namespace courier::test;

/// Starts a, b and c under `strategy`, kills b with SIGKILL, and returns the children's
/// pids before and after every child is running again, and b's restarts.
struct Restarted {
    std::map<std::string, std::int64_t> before, after;
};
Restarted kill_b(RestartStrategy strategy) {
    TempRuntimeDir dir;
    Restarted out;
    {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        spec.strategy = strategy;
        for (const char* id : {"a", "b", "c"}) spec.children.push_back(worker(dir, id));
        node.spawn<Supervisor>("sup", spec);
        // Decided and read from one answer: two answers could straddle b's death (all
        // running with the old pids, then b with no pid while a restarts).
        std::map<std::string, ChildInfo> children;
        REQUIRE(eventually([&] { return all_running(children = which(node), 3); }, 20s));
        for (auto& [id, child] : children) out.before[id] = child.pid;
        for (auto& [id, pid] : out.before) CHECK(registered_pid(dir, id) == pid);

        REQUIRE(::kill(static_cast<pid_t>(out.before["b"]), SIGKILL) == 0);
        REQUIRE(eventually(
            [&] {
                children = which(node);
                return all_running(children, 3) && children["b"].pid != out.before["b"];
            },
            20s));
        for (auto& [id, child] : children) out.after[id] = child.pid;
        // The restarted ones registered again, from their new processes.
        for (auto& [id, pid] : out.after) CHECK(registered_pid(dir, id) == pid);
        CHECK(which(node)["b"].restarts == 1);
        CHECK_THAT(which(node)["b"].last_exit, Catch::StartsWith("killed by signal 9"));
    }
    // The node stopped the supervisor, which stopped and reaped its children.
    for (auto& [id, pid] : out.after) CHECK(gone(static_cast<pid_t>(pid)));
    CHECK(zombies().empty());
    return out;
}

}  // namespace

TEST_CASE("one_for_one restarts only the child that was killed, which registers again",
          "[process][supervisor]") {
    auto pids = kill_b(RestartStrategy::one_for_one);
    CHECK(pids.after["a"] == pids.before["a"]);
    CHECK(pids.after["b"] != pids.before["b"]);
    CHECK(pids.after["c"] == pids.before["c"]);
}

TEST_CASE("one_for_all restarts every child when one is killed", "[process][supervisor]") {
    auto pids = kill_b(RestartStrategy::one_for_all);
    for (const char* id : {"a", "b", "c"}) CHECK(pids.after[id] != pids.before[id]);
}

TEST_CASE("rest_for_one restarts the killed child and those started after it",
          "[process][supervisor]") {
    auto pids = kill_b(RestartStrategy::rest_for_one);
    CHECK(pids.after["a"] == pids.before["a"]);
    CHECK(pids.after["b"] != pids.before["b"]);
    CHECK(pids.after["c"] != pids.before["c"]);
}

TEST_CASE(
    "a child that keeps crashing exceeds the intensity: the supervisor gives up and a "
    "monitor of it gets Down",
    "[process][supervisor]") {
    TempRuntimeDir dir;
    {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        spec.max_restarts = 2;
        spec.period = 30s;
        spec.children.push_back(worker(dir, "steady"));
        spec.children.push_back(worker(dir, "crasher", {"--crash-after", "0", "--exit", "3"}));
        Mailbag<Down> downs;
        node.spawn("watcher", [&](Actor& self) {
            self.handle<Down>([&downs](Down& down) { downs.put(down); });
            self.node().spawn<Supervisor>("sup", spec);
            self.monitor("sup");
        });
        auto down = downs.take(30s);
        REQUIRE(down);
        CHECK(down->name == "sup");
        CHECK(down->reason == DownReason::stopped);
        // It stopped its children before it ended: the steady one is gone too.
        CHECK(eventually([&] { return registered_pid(dir, "steady") == 0; }));
        CHECK(zombies().empty());
    }
    CHECK(zombies().empty());
}

TEST_CASE("the restart intensity counts the restarts of all children together",
          "[process][supervisor]") {
    TempRuntimeDir dir;
    std::map<std::string, ChildInfo> first, second;
    {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        spec.max_restarts = 1;
        spec.period = 60s;
        for (const char* id : {"a", "b"}) spec.children.push_back(worker(dir, id));
        Mailbag<Down> downs;
        node.spawn("watcher", [&](Actor& self) {
            self.handle<Down>([&downs](Down& down) { downs.put(down); });
            self.node().spawn<Supervisor>("sup", spec);
            self.monitor("sup");
        });
        REQUIRE(eventually([&] { return all_running(first = which(node), 2); }, 20s));

        // a's restart is the one allowed.
        REQUIRE(::kill(static_cast<pid_t>(first["a"].pid), SIGKILL) == 0);
        REQUIRE(eventually(
            [&] {
                second = which(node);
                return all_running(second, 2) && second["a"].pid != first["a"].pid;
            },
            20s));
        CHECK(second["b"].pid == first["b"].pid);
        CHECK_FALSE(downs.take(0ms));

        // b's first crash is the second restart in the period: one too many.
        REQUIRE(::kill(static_cast<pid_t>(second["b"].pid), SIGKILL) == 0);
        auto down = downs.take(20s);
        REQUIRE(down);
        CHECK(down->name == "sup");
        CHECK(down->reason == DownReason::stopped);
        CHECK(gone(static_cast<pid_t>(second["a"].pid)));
    }
    for (auto* children : {&first, &second})
        for (auto& [id, child] : *children) CHECK(gone(static_cast<pid_t>(child.pid)));
    CHECK(zombies().empty());
}

TEST_CASE("restarts older than the intensity period no longer count", "[process][supervisor]") {
    TempRuntimeDir dir;
    std::vector<std::int64_t> pids;
    {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        spec.max_restarts = 1;
        spec.period = 500ms;
        spec.children.push_back(worker(dir, "a"));
        node.spawn<Supervisor>("sup", spec);
        std::map<std::string, ChildInfo> children;
        REQUIRE(eventually([&] { return all_running(children = which(node), 1); }, 20s));
        pids.push_back(children["a"].pid);

        for (std::uint32_t restarts = 1; restarts <= 2; ++restarts) {
            REQUIRE(::kill(static_cast<pid_t>(pids.back()), SIGKILL) == 0);
            // Restarted, so the supervisor has not given up (it would answer no more).
            REQUIRE(eventually(
                [&] {
                    children = which(node);
                    return all_running(children, 1) && children["a"].pid != pids.back();
                },
                20s));
            const auto seen = std::chrono::steady_clock::now();
            CHECK(children["a"].restarts == restarts);
            pids.push_back(children["a"].pid);
            // The restart, counted before it was seen here, leaves the period.
            std::this_thread::sleep_until(seen + spec.period + 100ms);
        }
    }
    for (auto pid : pids) CHECK(gone(static_cast<pid_t>(pid)));
    CHECK(zombies().empty());
}

TEST_CASE("the backoff between restarts doubles up to its maximum", "[process][supervisor]") {
    TempRuntimeDir dir;
    {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        spec.max_restarts = 100;
        spec.period = 60s;
        ChildSpec child = worker(dir, "flaky", {"--crash-after", "50"});
        child.backoff_initial = 150ms;
        child.backoff_max = 600ms;
        spec.children.push_back(child);
        node.spawn<Supervisor>("sup", spec);
        std::vector<std::int64_t> starts;
        REQUIRE(eventually(
            [&] {
                starts = which(node)["flaky"].start_times_ms;
                return starts.size() >= 5;
            },
            30s));
        // Each restart waited at least its backoff after the previous start (the child ran
        // 50 ms, then waited 150, 300, 600, 600 ms); generous upper bounds for slow machines.
        const std::int64_t delays[] = {150, 300, 600, 600};
        for (std::size_t k = 0; k < 4; ++k) {
            const std::int64_t gap = starts[k + 1] - starts[k];
            INFO("restart " << k + 1 << " came " << gap << " ms after the start before");
            CHECK(gap >= delays[k]);
            CHECK(gap < delays[k] + 5000);
        }
    }
    CHECK(zombies().empty());
}

TEST_CASE("children die with their parent when it is killed with SIGKILL",
          "[process][supervisor]") {
    TempRuntimeDir dir;
    // The supervisor's process, forked before this test starts any thread.
    Child parent = Child::fork([&dir](ChildChannel& channel) {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        // The children do not watch their parent themselves: only the supervisor's
        // parent-death signal can end them.
        for (const char* id : {"orphan-a", "orphan-b"})
            spec.children.push_back(worker(dir, id, {"--no-parent-guard"}));
        node.spawn<Supervisor>("sup", spec);
        if (!eventually([&] { return all_running(node, 2); }, 20s)) return 1;
        channel.send('r');
        channel.receive();  // until killed
        return 0;
    });
    REQUIRE(parent.expect('r', 30s));
    const std::int64_t a = registered_pid(dir, "orphan-a");
    const std::int64_t b = registered_pid(dir, "orphan-b");
    REQUIRE(a != 0);
    REQUIRE(b != 0);
    parent.kill(SIGKILL);
    REQUIRE(parent.wait_exit());
    CHECK(
        eventually([&] { return gone(static_cast<pid_t>(a)) && gone(static_cast<pid_t>(b)); }, 2s));
    CHECK(zombies().empty());
}

TEST_CASE("a child starts with its parent's config, set in the parent's code only",
          "[process][supervisor][config]") {
    TempRuntimeDir dir;
    {
        NodeOptions options = parent_options(dir);
        options.name = "parent-node";
        // Only in this process's config: the child's links to us go over fifo, which
        // nobody would choose by default.
        options.config = Config::parse(
            "[[links.rule]]\nfrom = \"cfg-kid\"\nto = \"parent-node\"\ntransport = \"fifo\"\n",
            "parent.toml");
        Node node(options);
        Mailbag<spawn_wire::Report> reports;
        node.spawn("inbox", [&reports](Actor& self) {
            self.handle<spawn_wire::Report>(
                [&reports](spawn_wire::Report& report) { reports.put(report); });
        });
        SupervisorSpec spec;
        ChildSpec child = worker(dir, "cfg", {});
        child.process.argv = {(bin_dir() / "courier-test-spawned-node").string(), "cfg-kid",
                              "parent-node"};
        child.names = {"echo"};
        child.process.node = "cfg-kid";
        spec.children.push_back(child);
        node.spawn<Supervisor>("sup", spec);
        REQUIRE(reports.take());
        const LinkInfo* link = nullptr;
        std::vector<LinkInfo> links;
        CHECK(eventually([&] {
            link = nullptr;
            links = node.links();
            for (const auto& info : links)
                if (info.peer_node == "cfg-kid") link = &info;
            return link != nullptr;
        }));
        REQUIRE(link != nullptr);
        CHECK(link->transport == "fifo");
        CHECK_FALSE(link->initiated);  // the child chose it, by the rule it inherited
    }
    CHECK(zombies().empty());
}
