// Requests, replies and timeouts, stepped by hand (tests/support/stepped_node.hpp): each
// test reads as what was sent, what ran, and what the clock did.

#include "support/stepped_node.hpp"
#include "test_messages.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <vector>

using namespace std::chrono_literals;
using courier::testing::SteppedNode;

namespace {

using Result = courier::Expected<test::Pong, courier::Error>;

/// An actor that asks `to` for a Pong when it starts, and keeps every answer it gets.
void spawn_asker(SteppedNode& node, const std::string& to, std::vector<Result>& answers,
                 std::chrono::milliseconds timeout = 100ms) {
    node->spawn("asker", [&answers, to, timeout](courier::Actor& self) {
        self.request<test::Pong>(to, test::Ping{1}, timeout,
                                 [&answers](Result result) { answers.push_back(result); });
    });
}

}  // namespace

TEST_CASE("A asks B, B replies, A gets the reply, and the request's timer is gone",
          "[framework][requests]") {
    SteppedNode node("steps-reply");
    node->spawn("echo", [](courier::Actor& self) {
        self.handle([&self](test::Ping& ping) { self.reply(test::Pong{ping.n + 1}); });
    });
    std::vector<Result> answers;
    spawn_asker(node, "echo", answers);

    node.run();  // asker starts and asks; echo replies; asker takes the reply
    REQUIRE(answers.size() == 1);
    REQUIRE(answers[0]);
    CHECK(answers[0]->n == 2);
    // The answer cancelled the timer: nothing is left to fire, however long we wait.
    CHECK(node.advance(1h) == 0);
    node.run();
    CHECK(answers.size() == 1);
}

TEST_CASE(
    "A asks B, who never answers, and A's request times out when the clock passes its timeout",
    "[framework][requests]") {
    SteppedNode node("steps-timeout");
    int asked = 0;
    node->spawn("silent", [&asked](courier::Actor& self) {
        self.handle([&asked](test::Ping&) { ++asked; });
    });
    std::vector<Result> answers;
    spawn_asker(node, "silent", answers, 100ms);

    node.run();
    CHECK(asked == 1);
    CHECK(answers.empty());
    CHECK(node.advance(99ms) == 0);  // not yet
    node.run();
    CHECK(answers.empty());
    CHECK(node.advance(1ms) == 1);  // the timer fired: its letter waits for the asker's turn
    CHECK(answers.empty());
    node.run();
    REQUIRE(answers.size() == 1);
    REQUIRE_FALSE(answers[0]);
    CHECK(answers[0].error().code == courier::ErrorCode::timeout);
    CHECK(answers[0].error().message == "no reply from 'silent' within 100 ms");
}

TEST_CASE("an answer that comes after its request timed out is dropped", "[framework][requests]") {
    SteppedNode node("steps-late");
    courier::ReplyHandle later;
    node->spawn("slow", [&later](courier::Actor& self) {
        self.handle([&later, &self](test::Ping&) { later = self.reply_later(); });
        self.handle([&later](test::Go&) { CHECK(later.send(test::Pong{7})); });
    });
    std::vector<Result> answers;
    spawn_asker(node, "slow", answers, 50ms);

    node.run();
    CHECK(node.advance(50ms) == 1);
    node.run();
    REQUIRE(answers.size() == 1);
    CHECK(answers[0].error().code == courier::ErrorCode::timeout);

    node->send("slow", test::Go{});  // slow answers now, too late
    node.run();
    CHECK(answers.size() == 1);  // the asker got one answer: the timeout
}

TEST_CASE("an actor that stops while it waits for answers leaves no timer behind",
          "[framework][requests]") {
    SteppedNode node("steps-stop");
    node->spawn("silent", [](courier::Actor& self) { self.handle([](test::Ping&) {}); });
    std::vector<Result> answers;
    spawn_asker(node, "silent", answers, 100ms);
    node.run();

    node->stop("asker");
    node.run();
    CHECK(node.advance(1h) == 0);
    CHECK(answers.empty());
}
