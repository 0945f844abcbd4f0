// Groups within one node, stepped by hand (tests/support/stepped_node.hpp): joining,
// members in join order, sends by policy and to all, watchers told of each change, and
// what a group with no members does to a send and a request. Across processes, through
// the registry (a member killed, courierd restarted): tests/process/groups_test.cpp.

#include "support/stepped_node.hpp"
#include "test_messages.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using courier::GroupMember;
using courier::LeaveReason;
using courier::MemberJoined;
using courier::MemberLeft;
using courier::Pick;
using courier::testing::SteppedNode;

namespace {

/// Workers that join "workers" and count the Pings each takes.
void spawn_workers(SteppedNode& node, int count, std::map<std::string, int>& taken) {
    for (int i = 0; i < count; ++i) {
        const std::string name = "worker-" + std::to_string(i);
        node->spawn(name, [&taken, name](courier::Actor& self) {
            REQUIRE(self.join("workers"));
            self.handle([&taken, name](test::Ping&) { ++taken[name]; });
        });
    }
    node.run();
}

std::vector<std::string> names_of(const std::vector<GroupMember>& members) {
    std::vector<std::string> names;
    for (const auto& m : members) names.push_back(m.name);
    return names;
}

}  // namespace

TEST_CASE("members are listed in the order they joined, with their node and pid",
          "[framework][groups]") {
    SteppedNode node("groups-members");
    std::map<std::string, int> taken;
    spawn_workers(node, 3, taken);
    auto members = node->members("workers");
    REQUIRE(members);
    CHECK(names_of(*members) == std::vector<std::string>{"worker-0", "worker-1", "worker-2"});
    CHECK((*members)[0].node == "groups-members");
    CHECK((*members)[0].pid == ::getpid());
    auto none = node->members("nobody-joined-this");
    REQUIRE(none);
    CHECK(none->empty());
    auto invalid = node->members("no spaces");
    REQUIRE_FALSE(invalid);
    CHECK(invalid.error().code == courier::ErrorCode::unknown_name);
}

TEST_CASE("round robin sends each member its turn, and all reaches every member",
          "[framework][groups]") {
    SteppedNode node("groups-send");
    std::map<std::string, int> taken;
    spawn_workers(node, 3, taken);
    node->spawn("dispatcher", [](courier::Actor& self) {
        self.handle([&self](test::Go&) {
            for (int i = 0; i < 9; ++i) self.send(courier::group("workers"), test::Ping{i});
            self.send(courier::group("workers", Pick::all), test::Ping{100});
        });
    });
    REQUIRE(node->send("dispatcher", test::Go{}));
    node.run();
    CHECK(taken == std::map<std::string, int>{{"worker-0", 4}, {"worker-1", 4}, {"worker-2", 4}});

    taken.clear();
    node->spawn("random-dispatcher", [](courier::Actor& self) {
        self.handle([&self](test::Go&) {
            for (int i = 0; i < 300; ++i)
                self.send(courier::group("workers", Pick::random), test::Ping{i});
        });
    });
    REQUIRE(node->send("random-dispatcher", test::Go{}));
    node.run();
    int total = 0;
    for (const auto& [name, n] : taken) {
        CHECK(n > 0);  // 300 draws over 3: one left out has odds of 3 * (2/3)^300
        total += n;
    }
    CHECK(taken.size() == 3);
    CHECK(total == 300);
}

TEST_CASE("a watcher gets the members, then a message for each join and leave",
          "[framework][groups]") {
    SteppedNode node("groups-watch");
    std::vector<std::string> seen;
    std::vector<std::string> at_start;
    node->spawn("watcher", [&](courier::Actor& self) {
        auto members = self.watch_group("workers");
        REQUIRE(members);
        at_start = names_of(*members);
        self.handle([&seen](MemberJoined& j) {
            CHECK(j.group == "workers");
            seen.push_back("+" + j.member.name);
        });
        self.handle([&seen](MemberLeft& l) {
            seen.push_back("-" + l.member.name + " " + std::string(courier::to_string(l.reason)));
        });
    });
    std::map<std::string, int> taken;
    spawn_workers(node, 1, taken);  // worker-0, joined before the watch
    node.run();
    CHECK(at_start.empty());  // the watcher ran first: nobody had joined then
    node->spawn("leaver", [](courier::Actor& self) {
        REQUIRE(self.join("workers"));
        REQUIRE(self.join("workers"));  // twice: no second MemberJoined
        self.handle([&self](test::Go&) { REQUIRE(self.leave("workers")); });
    });
    node.run();
    REQUIRE(node->send("leaver", test::Go{}));
    node.run();
    node->stop("worker-0");
    node.run();
    CHECK(seen ==
          std::vector<std::string>{"+worker-0", "+leaver", "-leaver left", "-worker-0 stopped"});
    auto members = node->members("workers");
    REQUIRE(members);
    CHECK(members->empty());
}

TEST_CASE("a send to a group with no members is a dead letter, and a request fails at once",
          "[framework][groups]") {
    SteppedNode node("groups-empty");
    std::vector<courier::DeadLetter> dead;
    std::vector<courier::Error> errors;
    node->spawn("dispatcher", [&](courier::Actor& self) {
        self.handle([&dead](courier::DeadLetter& d) { dead.push_back(d); });
        self.handle([&](test::Go&) {
            self.send(courier::group("idle"), test::Ping{1});
            self.request<test::Pong>(courier::group("idle"), test::Ping{2},
                                     std::chrono::milliseconds(5000), [&](auto result) {
                                         REQUIRE_FALSE(result);
                                         errors.push_back(result.error());
                                     });
        });
    });
    REQUIRE(node->send("dispatcher", test::Go{}));
    node.run();  // no advance(): the request fails without its timer
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].recipient == "idle");
    CHECK(dead[0].code == courier::ErrorCode::unknown_name);
    CHECK(dead[0].reason == "group 'idle' has no members");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == courier::ErrorCode::unknown_name);

    auto sent = node->send(courier::group("idle"), test::Ping{3});
    REQUIRE_FALSE(sent);
    CHECK(sent.error().code == courier::ErrorCode::unknown_name);
}

TEST_CASE("a request to a group is answered by one member", "[framework][groups]") {
    SteppedNode node("groups-request");
    for (int i = 0; i < 2; ++i)
        node->spawn("squarer-" + std::to_string(i), [](courier::Actor& self) {
            REQUIRE(self.join("squarers"));
            self.handle([&self](test::Ping& p) { self.reply(test::Pong{p.n * p.n}); });
        });
    node.run();
    std::vector<int> answers;
    node->spawn("asker", [&](courier::Actor& self) {
        self.handle([&](test::Go&) {
            for (int n = 1; n <= 4; ++n)
                self.request<test::Pong>(courier::group("squarers"), test::Ping{n},
                                         std::chrono::milliseconds(5000), [&](auto result) {
                                             REQUIRE(result);
                                             answers.push_back(result->n);
                                         });
            CHECK_THROWS_AS(
                self.request<test::Pong>(courier::group("squarers", Pick::all), test::Ping{0},
                                         std::chrono::milliseconds(1), [](auto) {}),
                std::invalid_argument);
        });
    });
    REQUIRE(node->send("asker", test::Go{}));
    node.run();
    std::sort(answers.begin(), answers.end());
    CHECK(answers == std::vector<int>{1, 4, 9, 16});
}
