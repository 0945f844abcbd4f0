// A Pool within one node, stepped by hand: the in-flight bound per member, each policy,
// tasks of a member that stops or hangs going to another with one answer per request, a
// task that fails by itself not retried, the queue's bound. Worker processes killed for
// real: tests/process/pool_test.cpp.

#include "support/stepped_node.hpp"
#include "test_messages.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using courier::PoolOptions;
using courier::PoolPolicy;
using courier::ReplyHandle;
using courier::testing::SteppedNode;
using namespace std::chrono_literals;
using Pool = courier::Pool<test::Ping, test::Pong>;

namespace {

/// A worker that holds each task's answer until it gets a Go (then answers them all,
/// n * 10), and records the most it ever held at once.
struct Held {
    std::vector<ReplyHandle> replies;
    std::vector<int> tasks;
    std::size_t most = 0;
    int answered = 0;
};

void spawn_worker(SteppedNode& node, const std::string& name, Held& held) {
    node->spawn(name, [&held](courier::Actor& self) {
        self.failure_policy(courier::FailurePolicy::resume);
        REQUIRE(self.join("workers"));
        self.handle([&held, &self](test::Ping& p) {
            held.tasks.push_back(p.n);
            held.replies.push_back(self.reply_later());
            held.most = std::max(held.most, held.replies.size());
        });
        // The test asks for work in its name (PoolPolicy::on_demand).
        self.handle([&self](courier::Demand& d) { self.send("pool", d); });
        self.handle([&held](test::Go&) {
            for (std::size_t i = 0; i < held.replies.size(); ++i)
                held.replies[i].send(test::Pong{held.tasks[i] * 10});
            held.answered += static_cast<int>(held.replies.size());
            held.replies.clear();
            held.tasks.clear();
        });
    });
}

/// Sends `count` requests to the pool on a Go; keeps every answer (or error) by task.
struct Client {
    std::map<int, std::vector<int>> answers;  ///< task -> the Pong values it got
    std::map<int, courier::Error> errors;
};

void spawn_client(SteppedNode& node, Client& c, int count) {
    node->spawn("client", [&c, count](courier::Actor& self) {
        self.handle([&c, &self, count](test::Go&) {
            for (int n = 1; n <= count; ++n)
                self.request<test::Pong>("pool", test::Ping{n}, 600s, [&c, n](auto result) {
                    if (result)
                        c.answers[n].push_back(result->n);
                    else
                        c.errors.emplace(n, result.error());
                });
        });
    });
}

/// Answers what every worker holds, until the pool has nothing left in flight.
void answer_all(SteppedNode& node, const std::vector<std::string>& workers) {
    for (int round = 0; round < 100; ++round) {
        node.run();
        for (const auto& w : workers) REQUIRE(node->send(w, test::Go{}));
        if (node.run() == static_cast<std::size_t>(workers.size())) return;  // only the Gos ran
    }
}

void check_each_answered_once(const Client& c, int count) {
    REQUIRE(c.answers.size() == static_cast<std::size_t>(count));
    for (const auto& [n, values] : c.answers) CHECK(values == std::vector<int>{n * 10});
}

}  // namespace

TEST_CASE("a pool gives no member more than max_in_flight tasks, and answers each request once",
          "[framework][pool]") {
    SteppedNode node("pool-bound");
    std::map<std::string, Held> held;
    for (auto name : {"w0", "w1", "w2"}) spawn_worker(node, name, held[name]);
    PoolOptions options;
    options.max_in_flight = 2;
    node->spawn<Pool>("pool", "workers", options);
    Client c;
    spawn_client(node, c, 60);
    node.run();
    REQUIRE(node->send("client", test::Go{}));
    node.run();
    for (auto& [name, h] : held) CHECK(h.replies.size() == 2);  // 6 out, 54 queued
    answer_all(node, {"w0", "w1", "w2"});
    check_each_answered_once(c, 60);
    for (auto& [name, h] : held) {
        CHECK(h.most == 2);
        CHECK(h.answered == 20);  // least in flight: each got its share
    }
}

TEST_CASE("a member that stops owing answers has its tasks done by another", "[framework][pool]") {
    SteppedNode node("pool-stop");
    Held a, b;
    spawn_worker(node, "a", a);
    spawn_worker(node, "b", b);
    PoolOptions options;
    options.max_in_flight = 5;
    node->spawn<Pool>("pool", "workers", options);
    Client c;
    spawn_client(node, c, 10);
    node.run();
    REQUIRE(node->send("client", test::Go{}));
    node.run();
    REQUIRE(a.replies.size() == 5);
    node->stop("a");  // its held answers go as Error{stopped}: the pool tries b
    a.replies.clear();
    answer_all(node, {"b"});
    check_each_answered_once(c, 10);
    CHECK(b.answered == 10);
    CHECK(a.answered == 0);
}

TEST_CASE("a member that does not answer in time has its task done by another",
          "[framework][pool]") {
    SteppedNode node("pool-hang");
    Held slow, quick;
    spawn_worker(node, "slow", slow);
    PoolOptions options;
    options.attempt_timeout = 1000ms;
    node->spawn<Pool>("pool", "workers", options);
    Client c;
    spawn_client(node, c, 1);
    node.run();
    REQUIRE(node->send("client", test::Go{}));
    node.run();
    REQUIRE(slow.tasks == std::vector<int>{1});
    spawn_worker(node, "quick", quick);
    node.run();
    node.advance(1000ms);  // the attempt's timeout: the pool gives the task to "quick"
    node.run();
    REQUIRE(quick.tasks == std::vector<int>{1});
    answer_all(node, {"quick", "slow"});  // slow's late answer is dropped
    check_each_answered_once(c, 1);
}

TEST_CASE("a task whose handler throws is not retried: its requester gets handler_failed",
          "[framework][pool]") {
    SteppedNode node("pool-throw");
    int tried = 0;
    node->spawn("thrower", [&tried](courier::Actor& self) {
        self.failure_policy(courier::FailurePolicy::resume);
        REQUIRE(self.join("workers"));
        self.handle([&tried](test::Ping&) {
            ++tried;
            throw std::runtime_error("bad task");
        });
    });
    node->spawn<Pool>("pool", "workers");
    Client c;
    spawn_client(node, c, 1);
    node.run();
    REQUIRE(node->send("client", test::Go{}));
    node.run();
    CHECK(tried == 1);
    REQUIRE(c.errors.size() == 1);
    CHECK(c.errors.at(1).code == courier::ErrorCode::handler_failed);
}

TEST_CASE("on demand, a member gets as many tasks as it asked for", "[framework][pool]") {
    SteppedNode node("pool-demand");
    PoolOptions options;
    options.policy = PoolPolicy::on_demand;
    options.max_in_flight = 10;
    node->spawn<Pool>("pool", "workers", options);
    node.run();
    Held eager, idle;
    spawn_worker(node, "eager", eager);
    spawn_worker(node, "idle", idle);
    Client c;
    spawn_client(node, c, 5);
    node.run();
    REQUIRE(node->send("client", test::Go{}));
    node.run();
    CHECK(eager.tasks.empty());                        // nobody asked yet: all 5 wait
    REQUIRE(node->send("eager", courier::Demand{3}));  // it asks the pool for 3
    node.run();
    CHECK(eager.tasks == std::vector<int>{1, 2, 3});
    answer_all(node, {"eager"});
    CHECK(c.answers.size() == 3);
    CHECK(eager.tasks.empty());  // answering asked for nothing more
    REQUIRE(node->send("eager", courier::Demand{5}));
    node.run();
    CHECK(eager.tasks == std::vector<int>{4, 5});
    answer_all(node, {"eager"});
    check_each_answered_once(c, 5);
    CHECK(idle.answered == 0);
}

TEST_CASE("a Demand that overtakes its member's join is kept until the join", "[framework][pool]") {
    courier::detail::PoolMembers members(PoolPolicy::on_demand, 4);
    CHECK_FALSE(members.asked("w", 2));
    CHECK_FALSE(members.choose());
    const courier::GroupMember w{"w", "n", 1};
    members.joined(w);
    CHECK(members.choose() == std::optional<courier::GroupMember>(w));
    members.sent(w);
    members.sent(w);
    CHECK_FALSE(members.choose());  // both asked for are out
}

TEST_CASE("a task of a member that left does not count against a new process of its name",
          "[framework][pool]") {
    courier::detail::PoolMembers members(PoolPolicy::least_in_flight, 1);
    const courier::GroupMember old{"w", "n", 1}, renewed{"w", "n", 2};
    members.joined(old);
    members.sent(old);
    members.left("w");
    members.joined(renewed);  // restarted under the same name
    members.sent(renewed);
    members.returned(old, false);   // the old process's task failed as it died
    CHECK_FALSE(members.choose());  // the new one still has its one task: no room
    members.returned(renewed, true);
    CHECK(members.choose() == std::optional<courier::GroupMember>(renewed));
}

TEST_CASE("a pool with no members refuses tasks past max_queued with mailbox_full",
          "[framework][pool]") {
    SteppedNode node("pool-queue");
    PoolOptions options;
    options.max_queued = 2;
    node->spawn<Pool>("pool", "nobody-yet", options);
    Client c;
    spawn_client(node, c, 3);
    node.run();
    REQUIRE(node->send("client", test::Go{}));
    node.run();
    CHECK(c.answers.empty());
    REQUIRE(c.errors.size() == 1);
    CHECK(c.errors.at(3).code == courier::ErrorCode::mailbox_full);
    // A member that joins now takes the two that waited.
    Held late;
    node->spawn("late", [&late](courier::Actor& self) {
        REQUIRE(self.join("nobody-yet"));
        self.handle([&late, &self](test::Ping& p) {
            late.tasks.push_back(p.n);
            self.reply(test::Pong{p.n * 10});
        });
    });
    node.run();
    CHECK(late.tasks == std::vector<int>{1, 2});
    CHECK(c.answers.size() == 2);
}
