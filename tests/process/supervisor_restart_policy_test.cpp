// Supervisor restart policies with real child processes: a transient child is restarted
// only when it fails (an exit code other than 0, a signal, a failed start), a temporary
// one never, not even when a sibling's crash stopped it (one_for_all). A child left
// stopped is not queued: a later sibling restarts before it would have. No test leaves
// a zombie.

#include "spawn_messages.hpp"
#include "supervisor_support.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <map>

namespace {

using namespace courier;
using namespace courier::test;

ChildSpec with_policy(ChildSpec child, RestartPolicy policy) {
    child.restart = policy;
    return child;
}

/// Kills the permanent child `id` and waits until it runs again: children start in
/// order, so a child before it that was to be restarted (after the same short backoff)
/// would have been started first. Returns the answer that saw it back.
std::map<std::string, ChildInfo> restart_last(Node& node, const std::string& id) {
    const auto before = which(node)[id];
    REQUIRE(before.pid != 0);
    REQUIRE(::kill(static_cast<pid_t>(before.pid), SIGKILL) == 0);
    std::map<std::string, ChildInfo> children;
    REQUIRE(eventually(
        [&] {
            children = which(node);
            return children[id].state == "running" && children[id].pid != before.pid;
        },
        20s));
    return children;
}

}  // namespace

TEST_CASE("a transient child that exits 0 stays stopped and the others keep running",
          "[process][supervisor][restart_policy]") {
    TempRuntimeDir dir;
    std::map<std::string, ChildInfo> before;
    {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        spec.children.push_back(with_policy(worker(dir, "done"), RestartPolicy::transient));
        spec.children.push_back(worker(dir, "other"));
        node.spawn<Supervisor>("sup", spec);
        REQUIRE(eventually([&] { return all_running(before = which(node), 2); }, 20s));

        node.send("done", spawn_wire::Quit{0});
        std::map<std::string, ChildInfo> children;
        REQUIRE(
            eventually([&] { return (children = which(node))["done"].state == "stopped"; }, 10s));
        CHECK(children["done"].pid == 0);
        CHECK(children["done"].restarts == 0);
        CHECK(children["done"].last_exit == "exited with code 0");
        CHECK(children["other"].pid == before["other"].pid);
        CHECK(gone(static_cast<pid_t>(before["done"].pid)));

        children = restart_last(node, "other");
        CHECK(children["done"].state == "stopped");
        CHECK(children["done"].start_times_ms.size() == 1);
        CHECK(registered_pid(dir, "done") == 0);
    }
    for (auto& [id, child] : before) CHECK(gone(static_cast<pid_t>(child.pid)));
    CHECK(zombies().empty());
}

TEST_CASE("a transient child that fails is restarted: an exit code other than 0 or a signal",
          "[process][supervisor][restart_policy]") {
    TempRuntimeDir dir;
    std::vector<std::int64_t> pids;
    {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        spec.children.push_back(with_policy(worker(dir, "flaky"), RestartPolicy::transient));
        node.spawn<Supervisor>("sup", spec);
        std::map<std::string, ChildInfo> children;
        REQUIRE(eventually([&] { return all_running(children = which(node), 1); }, 20s));
        pids.push_back(children["flaky"].pid);

        node.send("flaky", spawn_wire::Quit{1});
        REQUIRE(eventually(
            [&] {
                children = which(node);
                return all_running(children, 1) && children["flaky"].pid != pids.back();
            },
            20s));
        CHECK(children["flaky"].restarts == 1);
        CHECK(children["flaky"].last_exit == "exited with code 1");
        CHECK(registered_pid(dir, "flaky") == children["flaky"].pid);
        pids.push_back(children["flaky"].pid);

        REQUIRE(::kill(static_cast<pid_t>(pids.back()), SIGKILL) == 0);
        REQUIRE(eventually(
            [&] {
                children = which(node);
                return all_running(children, 1) && children["flaky"].pid != pids.back();
            },
            20s));
        CHECK(children["flaky"].restarts == 2);
        CHECK_THAT(children["flaky"].last_exit, Catch::StartsWith("killed by signal 9"));
        pids.push_back(children["flaky"].pid);
    }
    for (auto pid : pids) CHECK(gone(static_cast<pid_t>(pid)));
    CHECK(zombies().empty());
}

TEST_CASE("a temporary child is never restarted: not after exit 0 nor a failure nor SIGKILL",
          "[process][supervisor][restart_policy]") {
    TempRuntimeDir dir;
    std::map<std::string, ChildInfo> before;
    {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        for (const char* id : {"ok", "bad", "killed"})
            spec.children.push_back(with_policy(worker(dir, id), RestartPolicy::temporary));
        spec.children.push_back(worker(dir, "other"));
        node.spawn<Supervisor>("sup", spec);
        REQUIRE(eventually([&] { return all_running(before = which(node), 4); }, 20s));

        node.send("ok", spawn_wire::Quit{0});
        node.send("bad", spawn_wire::Quit{3});
        REQUIRE(::kill(static_cast<pid_t>(before["killed"].pid), SIGKILL) == 0);
        std::map<std::string, ChildInfo> children;
        REQUIRE(eventually(
            [&] {
                children = which(node);
                for (const char* id : {"ok", "bad", "killed"})
                    if (children[id].state != "stopped") return false;
                return true;
            },
            10s));
        CHECK(children["ok"].last_exit == "exited with code 0");
        CHECK(children["bad"].last_exit == "exited with code 3");
        CHECK_THAT(children["killed"].last_exit, Catch::StartsWith("killed by signal 9"));

        children = restart_last(node, "other");
        for (const char* id : {"ok", "bad", "killed"}) {
            INFO(id);
            CHECK(children[id].state == "stopped");
            CHECK(children[id].pid == 0);
            CHECK(children[id].restarts == 0);
            CHECK(children[id].start_times_ms.size() == 1);
            CHECK(gone(static_cast<pid_t>(before[id].pid)));
        }
    }
    for (auto& [id, child] : before) CHECK(gone(static_cast<pid_t>(child.pid)));
    CHECK(zombies().empty());
}

TEST_CASE(
    "under one_for_all a temporary sibling stopped by another's crash is not started again "
    "while a transient one is",
    "[process][supervisor][restart_policy]") {
    TempRuntimeDir dir;
    std::map<std::string, ChildInfo> before;
    std::map<std::string, ChildInfo> after;
    {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        spec.strategy = RestartStrategy::one_for_all;
        spec.children.push_back(worker(dir, "a"));
        spec.children.push_back(with_policy(worker(dir, "temp"), RestartPolicy::temporary));
        spec.children.push_back(with_policy(worker(dir, "trans"), RestartPolicy::transient));
        node.spawn<Supervisor>("sup", spec);
        REQUIRE(eventually([&] { return all_running(before = which(node), 3); }, 20s));

        REQUIRE(::kill(static_cast<pid_t>(before["a"].pid), SIGKILL) == 0);
        REQUIRE(eventually(
            [&] {
                after = which(node);
                return after["a"].state == "running" && after["a"].pid != before["a"].pid &&
                       after["trans"].state == "running" &&
                       after["trans"].pid != before["trans"].pid;
            },
            20s));
        CHECK(after["temp"].state == "stopped");
        CHECK(after["temp"].pid == 0);
        CHECK(after["temp"].restarts == 0);
        CHECK(after["temp"].start_times_ms.size() == 1);
        CHECK_FALSE(after["temp"].last_exit.empty());
        CHECK(gone(static_cast<pid_t>(before["temp"].pid)));
        CHECK(registered_pid(dir, "temp") == 0);
        CHECK(after["trans"].restarts == 1);
    }
    for (auto* children : {&before, &after})
        for (auto& [id, child] : *children)
            if (child.pid != 0) CHECK(gone(static_cast<pid_t>(child.pid)));
    CHECK(zombies().empty());
}

TEST_CASE("a temporary child that is not up within its start timeout is killed and left stopped",
          "[process][supervisor][restart_policy]") {
    TempRuntimeDir dir;
    const auto log = dir.path() / "slow.log";
    {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        ChildSpec slow = worker(dir, "slow", {"--start-delay", "600000", "--log", log.string()});
        slow.restart = RestartPolicy::temporary;
        slow.start_timeout = 300ms;
        spec.children.push_back(slow);
        spec.children.push_back(worker(dir, "other"));
        node.spawn<Supervisor>("sup", spec);

        // The next child starts once the slow one's start is over, failed or not.
        std::map<std::string, ChildInfo> children;
        REQUIRE(
            eventually([&] { return (children = which(node))["other"].state == "running"; }, 20s));
        CHECK(children["slow"].state == "stopped");
        CHECK(children["slow"].pid == 0);
        CHECK(children["slow"].restarts == 0);
        CHECK_THAT(children["slow"].last_exit, Catch::StartsWith("killed by signal 9"));

        children = restart_last(node, "other");
        CHECK(children["slow"].state == "stopped");
        CHECK(children["slow"].start_times_ms.size() == 1);
        // Started once, never again: at most one line (a loaded machine may kill it at
        // its timeout before it wrote even that).
        CHECK(log_lines(log).size() <= 1);
    }
    for (const auto& pid : log_lines(log)) CHECK(gone(std::stoi(pid)));
    CHECK(zombies().empty());
}
