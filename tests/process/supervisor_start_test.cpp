// A supervisor's starts with real child processes: children start one at a time, each
// once the one before is up (a child listing no names is up at once); a child not up
// within its start timeout gets SIGKILL and counts as a crash; a child that exits before
// registering failed to start, which counts against the restart intensity like any crash
// (a transient child too, even with exit code 0); the last 32 start times are kept.
// No test leaves a zombie.

#include "supervisor_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

namespace {

using namespace courier;
using namespace courier::test;

/// Runs `spec` under "sup" until the supervisor stops, as a monitor of it hears: its Down.
std::optional<Down> run_until_down(const TempRuntimeDir& dir, const SupervisorSpec& spec) {
    Node node(parent_options(dir));
    Mailbag<Down> downs;
    node.spawn("watcher", [&](Actor& self) {
        self.handle<Down>([&downs](Down& down) { downs.put(down); });
        self.node().spawn<Supervisor>("sup", spec);
        self.monitor("sup");
    });
    return downs.take(30s);
}

}  // namespace

TEST_CASE("children start one at a time and each waits until the one before it is up",
          "[process][supervisor][start]") {
    TempRuntimeDir dir;
    std::map<std::string, ChildInfo> children;
    {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        spec.children.push_back(worker(dir, "slow", {"--start-delay", "1000"}));
        // No names: up as soon as its process runs, though it never makes a node.
        ChildSpec quiet = worker(dir, "quiet", {"--start-delay", "600000"});
        quiet.names.clear();
        spec.children.push_back(quiet);
        spec.children.push_back(worker(dir, "last"));
        node.spawn<Supervisor>("sup", spec);

        REQUIRE(eventually([&] { return (children = which(node))["slow"].pid != 0; }, 10s));
        // From the same answer: the slow one has a process but not its names yet (for a
        // second), and the others wait for it.
        REQUIRE(children["slow"].state == "starting");
        CHECK(children["quiet"].state == "waiting");
        CHECK(children["quiet"].pid == 0);
        CHECK(children["last"].state == "waiting");
        CHECK(children["last"].pid == 0);

        REQUIRE(eventually([&] { return all_running(children = which(node), 3); }, 20s));
        const auto start = [&](const char* id) { return children[id].start_times_ms.at(0); };
        CHECK(start("quiet") >= start("slow") + 1000);
        CHECK(start("last") >= start("quiet"));
        CHECK(registered_pid(dir, "slow") == children["slow"].pid);
        CHECK(registered_pid(dir, "last") == children["last"].pid);
        for (auto& [id, child] : children) CHECK(child.restarts == 0);
    }
    for (auto& [id, child] : children) CHECK(gone(static_cast<pid_t>(child.pid)));
    CHECK(zombies().empty());
}

TEST_CASE("a child not up within its start timeout gets SIGKILL and is started again",
          "[process][supervisor][start]") {
    TempRuntimeDir dir;
    const auto log = dir.path() / "slow.log";
    {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        spec.max_restarts = 100;
        spec.period = 60s;
        ChildSpec slow = worker(dir, "slow", {"--start-delay", "600000", "--log", log.string()});
        // Long enough for the child to begin and write its log line first: a sanitized
        // child under load took more than 300 ms to reach its main.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
        slow.start_timeout = 2s;
#else
        slow.start_timeout = 300ms;
#endif
        spec.children.push_back(slow);
        node.spawn<Supervisor>("sup", spec);

        ChildInfo child;
        // Three processes started (each writes the log as it begins), two of them killed.
        REQUIRE(eventually(
            [&] {
                child = which(node)["slow"];
                return child.restarts >= 2 && log_lines(log).size() >= 3;
            },
            30s));
        CHECK_THAT(child.last_exit, Catch::StartsWith("killed by signal 9"));
        REQUIRE(child.start_times_ms.size() >= 2);
        for (std::size_t k = 1; k < child.start_times_ms.size(); ++k) {
            const auto gap = child.start_times_ms[k] - child.start_times_ms[k - 1];
            INFO("start " << k << " came " << gap << " ms after the one before");
            CHECK(gap >= slow.start_timeout.count());
        }
    }
    // Every process it started was killed and reaped.
    for (const auto& pid : log_lines(log)) CHECK(gone(std::stoi(pid)));
    CHECK(zombies().empty());
}

TEST_CASE(
    "failed starts count against the restart intensity: the supervisor gives up and the "
    "children after never start",
    "[process][supervisor][start]") {
    TempRuntimeDir dir;
    const auto log = dir.path() / "first.log";
    const auto later = dir.path() / "later.log";
    SupervisorSpec spec;
    spec.max_restarts = 2;
    spec.period = 30s;
    ChildSpec first;
    SECTION("it exits with code 1 before registering") {
        first = worker(dir, "first", {"--exit-at-start", "1", "--log", log.string()});
    }
    SECTION("it is not up within its start timeout") {
        first = worker(dir, "first", {"--start-delay", "600000", "--log", log.string()});
        // Time for each to begin and write its log even on a loaded machine (under ASan a
        // start took more than 200 ms); the count of lines is what this test checks.
        first.start_timeout = 1500ms;
    }
    spec.children.push_back(first);
    spec.children.push_back(worker(dir, "later", {"--log", later.string()}));

    auto down = run_until_down(dir, spec);
    REQUIRE(down);
    CHECK(down->name == "sup");
    CHECK(down->reason == DownReason::stopped);
    // Its first start and max_restarts restarts; the one more failure made it give up.
    CHECK(log_lines(log).size() == 3);
    CHECK(log_lines(later).empty());
    for (const auto& pid : log_lines(log)) CHECK(gone(std::stoi(pid)));
    CHECK(zombies().empty());
}

TEST_CASE(
    "a transient child that exits 0 before its names are up stays stopped, and the next "
    "child starts",
    "[process][supervisor][start]") {
    TempRuntimeDir dir;
    const auto log = dir.path() / "job.log";
    const auto later = dir.path() / "later.log";
    {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        ChildSpec job = worker(dir, "job", {"--exit-at-start", "0", "--log", log.string()});
        job.restart = RestartPolicy::transient;
        spec.children.push_back(job);
        spec.children.push_back(worker(dir, "later", {"--log", later.string()}));
        node.spawn<Supervisor>("sup", spec);
        std::map<std::string, ChildInfo> children;
        REQUIRE(eventually(
            [&] {
                children = which(node);
                return children["later"].state == "running" && children["job"].state == "stopped";
            },
            20s));
        CHECK(children["job"].restarts == 0);
        CHECK_THAT(children["job"].last_exit, Catch::StartsWith("exited with code 0"));
        CHECK(log_lines(log).size() == 1);
        CHECK(log_lines(later).size() == 1);
    }
    for (const auto& pid : log_lines(log)) CHECK(gone(std::stoi(pid)));
    for (const auto& pid : log_lines(later)) CHECK(gone(std::stoi(pid)));
    CHECK(zombies().empty());
}

TEST_CASE("WhichChildren keeps the times of a child's last 32 starts",
          "[process][supervisor][start]") {
    TempRuntimeDir dir;
    const auto log = dir.path() / "brief.log";
    {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        spec.max_restarts = 1000;
        spec.period = 60s;
        // No names, so up at once; it exits at once, and is back after 1 ms.
        ChildSpec brief = worker(dir, "brief", {"--exit-at-start", "1", "--log", log.string()});
        brief.names.clear();
        brief.backoff_initial = 1ms;
        brief.backoff_max = 1ms;
        spec.children.push_back(brief);
        node.spawn<Supervisor>("sup", spec);

        ChildInfo child;
        REQUIRE(eventually([&] { return (child = which(node)["brief"]).restarts >= 40; }, 30s));
        CHECK(child.start_times_ms.size() == 32);
        CHECK(std::is_sorted(child.start_times_ms.begin(), child.start_times_ms.end()));
        CHECK(child.last_exit == "exited with code 1");
    }
    for (const auto& pid : log_lines(log)) CHECK(gone(std::stoi(pid)));
    CHECK(zombies().empty());
}
