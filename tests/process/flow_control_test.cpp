// Flow control between processes (docs/flow_control.md): what a full mailbox does to a
// sender in another process, under each overflow policy, and letters with a priority
// overtaking those queued at a busy actor, on every transport that links two processes.

#include "node_support.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace courier;
using namespace courier::test;

namespace {

/// A child whose actor "busy" (its mailbox limited by `limit`) is held in a Go until the
/// parent writes 'g' ('e' then: 'f' once its mailbox is empty); 'h', 'w' and 'x' ask it to
/// write 'f' once "busy" is held, and holds
/// `first` and `first` + 1 letters besides ('w': and has turned `turned_away` away); Report answers
/// where the Ping -1 came among the Pings it handled (-1: not among them), and how many it handled.
Child spawn_busy(const TempRuntimeDir& dir, const std::string& toml, MailboxLimit limit,
                 std::size_t first, std::uint64_t turned_away = 0) {
    return Child::fork([&dir, toml, limit, first, turned_away](ChildChannel& channel) {
        Node node(configured(dir, "busy-node", toml));
        std::promise<void> go;
        std::shared_future<void> going = go.get_future().share();
        std::atomic<bool> held{false};
        node.spawn("busy", [going, &held, limit](Actor& self) {
            self.mailbox_limit(limit);
            auto order = std::make_shared<std::vector<std::int64_t>>();
            self.handle([going, &held](wire::Go&) {
                held = true;
                going.wait();
            });
            self.handle([order](wire::Ping& ping) { order->push_back(ping.n); });
            self.handle([&self, order](wire::Report&) {
                const auto at = std::find(order->begin(), order->end(), -1);
                self.reply(wire::Numbered{at == order->end() ? -1 : at - order->begin(),
                                          std::to_string(order->size())});
            });
        });
        const auto busy = [&node] {
            for (auto& box : node.mailboxes())
                if (box.name == "busy") return box;
            return MailboxStats{};
        };
        channel.send('r');
        while (char c = channel.receive()) {
            if (c == 'h' || c == 'w' || c == 'x') {
                const std::size_t want = c == 'h' ? 0 : c == 'w' ? first : first + 1;
                const std::uint64_t away = c == 'w' ? turned_away : 0;
                const auto there = [&] {
                    const auto box = busy();
                    return held && box.depth >= want && box.refused + box.dropped >= away;
                };
                const auto until = std::chrono::steady_clock::now() + 20s;
                while (!there() && std::chrono::steady_clock::now() < until)
                    std::this_thread::sleep_for(1ms);
                channel.send(there() ? 'f' : 'n');
            } else if (c == 'g') {
                go.set_value();
            } else if (c == 'e') {  // writes 'f' once "busy" has taken every letter
                const auto until = std::chrono::steady_clock::now() + 20s;
                while (busy().depth != 0 && std::chrono::steady_clock::now() < until)
                    std::this_thread::sleep_for(1ms);
                channel.send(busy().depth == 0 ? 'f' : 'n');
            } else if (c == 'q') {
                break;
            }
        }
        return 0;
    });
}

/// The busy actor's Report, asked again while its mailbox is still too full to take it.
Expected<wire::Numbered, Error> report_of(Node& node) {
    const auto until = std::chrono::steady_clock::now() + 30s;
    for (;;) {
        auto report = node.request<wire::Numbered>("busy", wire::Report{}, 30s);
        if (report || report.error().code != ErrorCode::mailbox_full ||
            std::chrono::steady_clock::now() >= until)
            return report;
        std::this_thread::sleep_for(1ms);
    }
}

std::string over(const std::string& transport) {
    return "[links]\npreference = [\"" + transport + "\"]\n";
}

}  // namespace

TEST_CASE(
    "a full mailbox refuses what another process sends under Overflow::fail (the sender "
    "gets DeadLetter{mailbox_full} back over the link), drops it under drop_newest, and "
    "drops the oldest under drop_oldest, on every transport",
    "[process][flow_control]") {
    const std::string transport =
        GENERATE(as<std::string>{}, "unix", "tcp", "fifo", "shm", "sysv", "posixmq");
    const Overflow overflow =
        GENERATE(Overflow::fail, Overflow::drop_newest, Overflow::drop_oldest);
    INFO("transport " << transport << ", overflow " << to_string(overflow));
    // Under drop_oldest all five go in, and two are dropped once the actor takes letters.
    const bool oldest = overflow == Overflow::drop_oldest;
    TempRuntimeDir dir;
    {
        auto child = spawn_busy(dir, over(transport), {3, std::size_t{1} << 20, overflow},
                                oldest ? 5 : 3, oldest ? 0 : 2);
        REQUIRE(child.expect('r'));
        Mailbag<DeadLetter> bounced;
        Node node(configured(dir, "sender-node", over(transport)));
        node.spawn("sender", [&bounced](Actor& self) {
            self.handle([&bounced](DeadLetter& dead) { bounced.put(dead); });
            self.handle([&self](wire::Go&) {
                for (int i = 0; i < 5; ++i) self.send("busy", wire::Ping{i});
            });
            self.send("busy", wire::Go{});
        });
        child.send('h');
        REQUIRE(child.expect('f', 30s));  // held: its mailbox is empty
        REQUIRE(node.send("sender", wire::Go{}));
        child.send('w');
        REQUIRE(child.expect('f', 30s));  // three in, two turned away
        if (overflow == Overflow::fail) {
            for (int i = 0; i < 2; ++i) {
                auto dead = bounced.take(20s);
                REQUIRE(dead);
                CHECK(dead->code == ErrorCode::mailbox_full);
                CHECK(dead->recipient == "busy");
                CHECK_THAT(dead->reason,
                           Catch::Contains("the mailbox of 'busy' is full (3 letters"));
            }
        }
        child.send('g');
        if (oldest) {  // a Report that found it full would have one more dropped
            child.send('e');
            REQUIRE(child.expect('f', 30s));
        }
        auto report = report_of(node);  // it may still hold the three when asked
        REQUIRE(report);
        CHECK(report->data == "3");  // the three that fitted (the newest), and no more
        // Dropped ones are not told (and the two refused ones were told once).
        CHECK_FALSE(bounced.take(0ms));
        child.send('q');
        CHECK(child.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE(
    "a letter with a priority overtakes the letters already queued at a busy actor in "
    "another process, on every transport",
    "[process][node][priority]") {
    const std::string transport =
        GENERATE(as<std::string>{}, "unix", "tcp", "fifo", "shm", "sysv", "posixmq");
    INFO("transport " << transport);
    const std::string toml = over(transport);
    constexpr int normal = 1000;
    TempRuntimeDir dir;
    {
        auto child = spawn_busy(dir, toml, NodeOptions{}.mailbox_limit, normal);
        REQUIRE(child.expect('r'));
        Node node(configured(dir, "sender-node", toml));
        node.spawn("sender", [](Actor& self) {
            self.send("busy", wire::Go{});
            self.handle([&self](wire::Pong&) {
                for (int i = 0; i < normal; ++i) self.send("busy", wire::Ping{i});
            });
            self.handle([&self](wire::Go&) { self.send("busy", wire::Ping{-1}, 255); });
        });
        // The normal letters only once busy holds its Go: a turn may take letters that
        // are already there along with its first, and none can overtake those.
        child.send('h');
        REQUIRE(child.expect('f', 30s));
        REQUIRE(node.send("sender", wire::Pong{}));
        child.send('w');
        REQUIRE(child.expect('f', 30s));  // all queued behind the Go
        REQUIRE(node.send("sender", wire::Go{}));
        child.send('x');
        REQUIRE(child.expect('f', 30s));
        child.send('g');
        auto where = report_of(node);
        REQUIRE(where);
        CHECK(where->n == 0);  // handled first once the actor was free
        CHECK(where->data == std::to_string(normal + 1));
        child.send('q');
        CHECK(child.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}
