// An actor's handler throws, stepped by hand (tests/support/stepped_node.hpp): what each
// FailurePolicy does to its state, its mailbox, its requests, its monitors and its parent.
// Across processes (a remote requester of a restarted actor): tests/process/node_test.cpp.

#include "restart_window.hpp"
#include "support/log_capture.hpp"
#include "support/stepped_node.hpp"
#include "test_messages.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using courier::ChildFailed;
using courier::Down;
using courier::DownReason;
using courier::FailurePolicy;
using courier::RestartLimit;
using courier::testing::SteppedNode;

namespace {

using Result = courier::Expected<test::Pong, courier::Error>;

/// One Ping as a Tally handled it: which object (1 for the first built), its count then.
struct Seen {
    int instance = 0;
    int count = 0;
    int n = 0;
    bool operator==(const Seen&) const = default;
};

/// What every Tally of a test did.
struct Record {
    int built = 0, starts = 0, stops = 0;
    std::vector<Seen> seen;
};

/// Counts the Pings it handled since it was built; a Boom makes its handler throw.
struct Tally final : courier::Actor {
    explicit Tally(Record& r, FailurePolicy policy = FailurePolicy::restart,
                   std::optional<RestartLimit> limit = std::nullopt)
        : record(r), instance(++r.built) {
        failure_policy(policy);
        if (limit) restart_limit(*limit);
        handle([this](test::Ping& ping) { record.seen.push_back({instance, ++count, ping.n}); });
        handle([](test::Boom&) { throw std::runtime_error("boom"); });
    }
    void on_start() override { ++record.starts; }
    void on_stop() override { ++record.stops; }
    Record& record;
    const int instance;
    int count = 0;
};

/// An actor named "watcher" that monitors `name` and keeps its Downs.
void spawn_watcher(SteppedNode& node, const std::string& name, std::vector<Down>& downs) {
    node->spawn("watcher", [&downs, name](courier::Actor& self) {
        self.handle([&downs](Down& down) { downs.push_back(down); });
        self.monitor(name);
    });
}

}  // namespace

TEST_CASE(
    "by default a throwing handler restarts its actor: on_stop, then a new object handles "
    "the letters behind the failing one, in order, with no Down",
    "[framework][failure]") {
    SteppedNode node("restart-default");
    Record record;
    node->spawn<Tally>("tally", std::ref(record));
    std::vector<Down> downs;
    spawn_watcher(node, "tally", downs);
    node.run();

    node->send("tally", test::Ping{1});
    node->send("tally", test::Ping{2});
    node->send("tally", test::Boom{});
    node->send("tally", test::Ping{3});
    node->send("tally", test::Ping{4});
    node.run();

    // The count starts again: the new object's own state.
    CHECK(record.seen == std::vector<Seen>{{1, 1, 1}, {1, 2, 2}, {2, 1, 3}, {2, 2, 4}});
    CHECK(record.built == 2);
    CHECK(record.starts == 2);
    CHECK(record.stops == 1);  // the old object's
    CHECK(downs.empty());      // same name, same mailbox: nobody saw it go
    CHECK(node->stats().handler_failures == 1);
    CHECK(node->stats().dead_letters == 0);
}

TEST_CASE("a setup function runs again on a new actor when it restarts", "[framework][failure]") {
    SteppedNode node("restart-setup");
    int setups = 0;
    std::vector<int> counts;
    node->spawn("counter", [&setups, &counts](courier::Actor& self) {
        ++setups;
        self.handle([&counts, count = 0](test::Ping&) mutable { counts.push_back(++count); });
        self.handle([](test::Boom&) { throw std::runtime_error("boom"); });
    });
    node->send("counter", test::Ping{0});
    node->send("counter", test::Ping{0});
    node->send("counter", test::Boom{});
    node->send("counter", test::Ping{0});
    node.run();
    CHECK(setups == 2);
    CHECK(counts == std::vector<int>{1, 2, 1});
}

TEST_CASE(
    "a restart answers the failing request handler_failed and the replies the old actor "
    "owed stopped, and drops the requests it waited on",
    "[framework][failure]") {
    SteppedNode node("restart-requests");
    node->spawn("silent", [](courier::Actor& self) { self.handle([](test::Ping&) {}); });
    courier::ReplyHandle kept;
    int callbacks = 0;
    node->spawn("worker", [&kept, &callbacks](courier::Actor& self) {
        self.handle([&self, &kept](test::Go&) { kept = self.reply_later(); });
        self.handle([&self, &callbacks](test::Ping&) {
            self.request<test::Pong>("silent", test::Ping{0}, 100ms,
                                     [&callbacks](Result) { ++callbacks; });
        });
        self.handle([](test::Boom&) { throw std::runtime_error("boom"); });
    });
    node.run();
    std::vector<Result> owed, failed;
    node->spawn("client", [&owed, &failed](courier::Actor& self) {
        self.request<test::Pong>("worker", test::Go{}, 1s,
                                 [&owed](Result r) { owed.push_back(std::move(r)); });
        self.send("worker", test::Ping{0});  // the worker asks "silent", who never answers
        self.request<test::Pong>("worker", test::Boom{}, 1s,
                                 [&failed](Result r) { failed.push_back(std::move(r)); });
    });
    node.run();

    REQUIRE(failed.size() == 1);
    REQUIRE_FALSE(failed[0]);
    CHECK(failed[0].error().code == courier::ErrorCode::handler_failed);
    CHECK(failed[0].error().message == "boom");
    REQUIRE(owed.size() == 1);
    REQUIRE_FALSE(owed[0]);
    CHECK(owed[0].error().code == courier::ErrorCode::stopped);
    CHECK_FALSE(kept);  // the handle owes nothing now
    // The old actor's request to "silent" is over: its timer is gone, its callback never runs.
    CHECK(node.advance(1h) == 0);
    node.run();
    CHECK(callbacks == 0);
}

TEST_CASE("resume keeps the actor and its state, as before restart was the default",
          "[framework][failure]") {
    SteppedNode node("policy-resume");
    Record record;
    node->spawn<Tally>("tally", std::ref(record), FailurePolicy::resume);
    node->send("tally", test::Ping{1});
    node->send("tally", test::Boom{});
    node->send("tally", test::Ping{2});
    node.run();
    CHECK(record.seen == std::vector<Seen>{{1, 1, 1}, {1, 2, 2}});
    CHECK(record.built == 1);
    CHECK(record.stops == 0);
    CHECK(node->stats().handler_failures == 1);
}

TEST_CASE(
    "stop ends the actor: its monitors get Down{stopped} saying what threw, and the letters "
    "behind bounce as stopped",
    "[framework][failure]") {
    SteppedNode node("policy-stop");
    Record record;
    node->spawn<Tally>("tally", std::ref(record), FailurePolicy::stop);
    std::vector<Down> downs;
    spawn_watcher(node, "tally", downs);
    node.run();
    std::vector<courier::DeadLetter> bounced;
    node->spawn("client", [&bounced](courier::Actor& self) {
        self.handle([&bounced](courier::DeadLetter& d) { bounced.push_back(d); });
        self.send("tally", test::Ping{1});
        self.send("tally", test::Boom{});
        self.send("tally", test::Ping{2});
    });
    node.run();

    CHECK(record.seen == std::vector<Seen>{{1, 1, 1}});
    CHECK(record.built == 1);
    CHECK(record.stops == 1);
    REQUIRE(downs.size() == 1);
    CHECK(downs[0].reason == DownReason::stopped);
    CHECK(downs[0].detail == "actor 'tally' stopped: its handler for test.Boom threw: boom");
    REQUIRE(bounced.size() == 1);
    CHECK(bounced[0].recipient == "tally");
    CHECK(bounced[0].code == courier::ErrorCode::stopped);
    // Its name is free.
    CHECK_NOTHROW(node->spawn<Tally>("tally", std::ref(record)));
}

TEST_CASE("escalate stops a child and tells its parent, which may spawn it anew",
          "[framework][failure]") {
    SteppedNode node("policy-escalate");
    Record record;
    std::vector<ChildFailed> told;
    node->spawn("parent", [&record, &told](courier::Actor& self) {
        self.handle([&self, &record, &told](ChildFailed& failed) {
            told.push_back(failed);
            self.spawn_child<Tally>(failed.name, std::ref(record), FailurePolicy::escalate);
        });
        self.spawn_child<Tally>("child", std::ref(record), FailurePolicy::escalate);
    });
    node.run();
    std::vector<Down> downs;
    spawn_watcher(node, "child", downs);
    node.run();

    node->send("child", test::Ping{1});
    node->send("child", test::Boom{});
    node->send("child", test::Ping{2});  // bounces: the child stopped before it
    node.run();
    REQUIRE(told.size() == 1);
    CHECK(told[0].name == "child");
    CHECK(told[0].error == "its handler for test.Boom threw: boom");
    CHECK(told[0].restarts == 0);
    REQUIRE(downs.size() == 1);
    CHECK(downs[0].detail == "actor 'child' stopped: its handler for test.Boom threw: boom");
    CHECK(node->stats().dead_letters == 1);

    node->send("child", test::Ping{3});  // to the child its parent spawned again
    node.run();
    CHECK(record.seen == std::vector<Seen>{{1, 1, 1}, {2, 1, 3}});
}

TEST_CASE("an actor without a parent that escalates is stopped by its node, which logs it",
          "[framework][failure]") {
    courier_test::LogCapture log;
    SteppedNode node("escalate-orphan");
    Record record;
    node->spawn<Tally>("tally", std::ref(record), FailurePolicy::escalate);
    std::vector<Down> downs;
    spawn_watcher(node, "tally", downs);
    node.run();
    node->send("tally", test::Boom{});
    node.run();
    REQUIRE(downs.size() == 1);
    CHECK(record.stops == 1);
    CHECK(log.text().find("actor 'tally' stopped: its handler for test.Boom threw: boom: it has "
                          "no parent, so its node stopped it") != std::string::npos);
}

TEST_CASE(
    "past its restart limit an actor escalates, and restarts older than the window do not "
    "count",
    "[framework][failure]") {
    SteppedNode node("restart-limit");
    Record record;
    std::vector<ChildFailed> told;
    node->spawn("parent", [&record, &told](courier::Actor& self) {
        self.handle([&told](ChildFailed& failed) { told.push_back(failed); });
        self.spawn_child<Tally>("child", std::ref(record), FailurePolicy::restart,
                                RestartLimit{2, 1000ms});
    });
    node.run();
    node->send("child", test::Boom{});
    node->send("child", test::Boom{});
    node.run();
    CHECK(record.built == 3);  // two restarts, within the limit
    node.advance(1000ms);      // they leave the window
    node->send("child", test::Boom{});
    node->send("child", test::Boom{});
    node.run();
    CHECK(record.built == 5);
    CHECK(told.empty());
    node->send("child", test::Boom{});  // a third within 1000 ms
    node.run();
    CHECK(record.built == 5);
    CHECK(record.stops == 5);
    REQUIRE(told.size() == 1);
    CHECK(told[0].name == "child");
    CHECK(told[0].restarts == 2);
    CHECK(told[0].error ==
          "its handler for test.Boom threw: boom; it restarted 2 times within 1000 ms already");
}

TEST_CASE("a handler that throws on every letter restarts 5 times, then its actor stops",
          "[framework][failure]") {
    SteppedNode node("restart-spin");
    Record record;
    node->spawn<Tally>("tally", std::ref(record));
    for (int i = 0; i < 100; ++i) node->send("tally", test::Boom{});
    node.run();
    CHECK(record.built == 6);  // the first and 5 restarts (RestartLimit{5, 10 s})
    CHECK(node->stats().handler_failures == 6);
    CHECK(node->stats().dead_letters == 94);  // the rest bounced: it stopped
}

TEST_CASE("the node's actor_failure applies to an actor that chose no policy",
          "[framework][failure]") {
    courier::NodeOptions options;
    options.name = "node-policy";
    options.actor_failure = FailurePolicy::stop;
    SteppedNode node(options);
    node->spawn("worker", [](courier::Actor& self) {
        self.handle([](test::Boom&) { throw std::runtime_error("boom"); });
    });
    Record record;
    node->spawn<Tally>("tally", std::ref(record), FailurePolicy::restart);  // its own
    std::vector<Down> downs;
    spawn_watcher(node, "worker", downs);
    node.run();
    node->send("worker", test::Boom{});
    node->send("tally", test::Boom{});
    node.run();
    CHECK(downs.size() == 1);
    CHECK(record.built == 2);
}

namespace {
/// Built from a move-only argument: it cannot be built again.
struct Holder final : courier::Actor {
    explicit Holder(std::unique_ptr<int> v) : value(std::move(v)) {
        handle([](test::Boom&) { throw std::runtime_error("boom"); });
    }
    std::unique_ptr<int> value;
};
/// Its on_start throws.
struct Unstartable final : courier::Actor {
    explicit Unstartable(int& built) { ++built; }
    void on_start() override { throw std::runtime_error("no start"); }
};
}  // namespace

TEST_CASE("an actor that cannot be built again, or cannot start, stops instead of restarting",
          "[framework][failure]") {
    SteppedNode node("restart-impossible");
    node->spawn<Holder>("holder", std::make_unique<int>(1));
    int built = 0;
    node->spawn<Unstartable>("unstartable", std::ref(built));
    std::vector<Down> downs;
    node->spawn("watcher", [&downs](courier::Actor& self) {
        self.handle([&downs](Down& down) { downs.push_back(down); });
        self.monitor("holder");
    });
    node.run();
    node->send("holder", test::Boom{});
    node.run();
    CHECK(built == 1);  // no restart loop
    REQUIRE(downs.size() == 1);
    CHECK(downs[0].detail ==
          "actor 'holder' stopped: its handler for test.Boom threw: boom; it cannot be built again "
          "(spawn<A> with arguments it cannot copy: pass std::ref for a reference)");
}

TEST_CASE("a restart window admits up to its limit, and forgets restarts older than it",
          "[framework][failure]") {
    courier::detail::RestartWindow window;
    const auto t0 = std::chrono::steady_clock::time_point{};
    const RestartLimit limit{2, 100ms};
    CHECK(window.admit(t0, limit));
    CHECK(window.admit(t0 + 50ms, limit));
    CHECK_FALSE(window.admit(t0 + 99ms, limit));
    CHECK(window.recent() == 2);
    CHECK(window.admit(t0 + 100ms, limit));  // the first left the window
    CHECK_FALSE(window.admit(t0 + 100ms, limit));
    CHECK_FALSE(window.admit(t0, RestartLimit{0, 100ms}));
}
