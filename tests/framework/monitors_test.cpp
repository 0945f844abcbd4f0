// Monitors within one node, stepped by hand (tests/support/stepped_node.hpp): a Down comes
// once, names the monitor it ends and why; demonitor ends it without one. Across processes
// (a killed node, the registry's identity, a child's pipe link): tests/process/node_test.cpp
// and spawn_test.cpp.

#include "support/stepped_node.hpp"
#include "test_messages.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <vector>

using courier::Down;
using courier::DownReason;
using courier::Monitor;
using courier::testing::SteppedNode;

namespace {

/// An actor that monitors each name it is sent (a Ping's n picks one of `names`), keeps its
/// monitors, and records every Down.
struct Watcher {
    std::vector<Monitor> monitors;
    std::vector<Down> downs;
};

void spawn_watcher(SteppedNode& node, Watcher& w, std::vector<std::string> names) {
    node->spawn("watcher", [&w, names](courier::Actor& self) {
        self.handle([&w](Down& down) { w.downs.push_back(down); });
        for (const auto& name : names) w.monitors.push_back(self.monitor(name));
    });
}

}  // namespace

TEST_CASE("an actor that stops gives each of its monitors one Down, naming the monitor",
          "[framework][monitors]") {
    SteppedNode node("monitors-stop");
    node->spawn("worker", [](courier::Actor&) {});
    node.run();
    Watcher w;
    spawn_watcher(node, w, {"worker", "worker"});
    node.run();
    REQUIRE(w.monitors.size() == 2);
    CHECK(w.monitors[0].id != w.monitors[1].id);
    CHECK(w.monitors[0].name == "worker");
    CHECK(w.downs.empty());

    node->stop("worker");
    node.run();
    REQUIRE(w.downs.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(w.downs[i].name == "worker");
        CHECK(w.downs[i].reason == DownReason::stopped);
        CHECK(w.downs[i].node == "monitors-stop");
        CHECK(w.downs[i].pid == ::getpid());
        CHECK(w.downs[i].monitor == w.monitors[i].id);
        CHECK(w.downs[i].detail == "actor 'worker' stopped");
    }
    // The same name again is a new actor: the old monitors are over.
    node->spawn("worker", [](courier::Actor&) {});
    node->stop("worker");
    node.run();
    CHECK(w.downs.size() == 2);
}

TEST_CASE("a monitor of a name nobody holds ends at once as unreachable", "[framework][monitors]") {
    SteppedNode node("monitors-nobody");
    Watcher w;
    spawn_watcher(node, w, {"ghost"});
    node.run();
    REQUIRE(w.monitors.size() == 1);
    REQUIRE(w.downs.size() == 1);
    CHECK(w.downs[0].name == "ghost");
    CHECK(w.downs[0].reason == DownReason::unreachable);
    CHECK(w.downs[0].monitor == w.monitors[0].id);
    CHECK(w.downs[0].detail == "no actor named 'ghost' is known to node 'monitors-nobody'");
}

TEST_CASE("demonitor ends a monitor without a Down, and the watcher's other monitors stay",
          "[framework][monitors]") {
    SteppedNode node("monitors-cancel");
    node->spawn("a", [](courier::Actor&) {});
    node->spawn("b", [](courier::Actor&) {});
    node.run();
    Watcher w;
    node->spawn("watcher", [&w](courier::Actor& self) {
        self.handle([&w](Down& down) { w.downs.push_back(down); });
        self.handle([&self, &w](test::Ping&) { self.demonitor(w.monitors.front()); });
        w.monitors.push_back(self.monitor("a"));
        w.monitors.push_back(self.monitor("b"));
    });
    node.run();
    node->send("watcher", test::Ping{0});
    node.run();
    node->stop("a");
    node->stop("b");
    node.run();
    REQUIRE(w.downs.size() == 1);
    CHECK(w.downs[0].name == "b");
    CHECK(w.downs[0].monitor == w.monitors[1].id);
}

TEST_CASE("a watcher that stops takes its monitors with it", "[framework][monitors]") {
    SteppedNode node("monitors-gone");
    node->spawn("target", [](courier::Actor&) {});
    node.run();
    Watcher first;
    spawn_watcher(node, first, {"target"});
    node.run();
    node->stop("watcher");
    node.run();
    // A new actor of the same name monitors nothing: no Down may reach it.
    Watcher second;
    spawn_watcher(node, second, {});
    node.run();
    node->stop("target");
    node.run();
    CHECK(first.downs.empty());
    CHECK(second.downs.empty());
}

TEST_CASE("an actor awaiting a name gets Up when it starts, or at once when it is there",
          "[framework][monitors]") {
    SteppedNode node("monitors-up");
    std::vector<courier::Up> ups;
    node->spawn("early", [](courier::Actor&) {});
    node.run();
    node->spawn("awaiter", [&ups](courier::Actor& self) {
        self.handle([&ups](courier::Up& up) { ups.push_back(up); });
        self.await_up("early");
        self.await_up("late");
    });
    node.run();
    REQUIRE(ups.size() == 1);
    CHECK(ups[0].name == "early");
    CHECK(ups[0].node == "monitors-up");
    CHECK(ups[0].pid == ::getpid());

    node->spawn("late", [](courier::Actor&) {});
    node.run();
    REQUIRE(ups.size() == 2);
    CHECK(ups[1].name == "late");
    // Once: the name stopping and starting again says nothing more.
    node->stop("late");
    node.run();
    node->spawn("late", [](courier::Actor&) {});
    node.run();
    CHECK(ups.size() == 2);
}

TEST_CASE(
    "a notice for an actor that is gone (a late Down, Up, group change or bounce) is dropped "
    "while a message to it is a dead letter",
    "[framework][monitors][dead_letters]") {
    SteppedNode node("monitors-late");
    node->spawn("stopping", [](courier::Actor&) {});
    node.run();
    node->stop("stopping");
    node.run();
    const auto before = node->stats().dead_letters;
    for (const char* to : {"stopping", "never-was"}) {
        node->send(to, Down{});
        node->send(to, courier::Up{});
        node->send(to, courier::MemberLeft{});
        node->send(to, courier::DeadLetter{});
    }
    node.run();
    CHECK(node->stats().dead_letters == before);
    node->send("stopping", test::Ping{1});
    node.run();
    CHECK(node->stats().dead_letters == before + 1);
}
