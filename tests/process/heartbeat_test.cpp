// The heartbeat of tcp: links: a peer stopped with SIGSTOP keeps its TCP connection open
// and says nothing, and only the heartbeat notices it. Short settings keep the tests fast:
// a heartbeat every 50 ms, a link dropped after 300 ms of silence.

#include "node_support.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace courier;
using namespace courier::test;
using Clock = std::chrono::steady_clock;

constexpr auto never = std::chrono::seconds(60);  // a request timeout no test waits out

std::string tcp_with_heartbeat(int interval_ms, int timeout_ms) {
    return "[links]\npreference = [\"tcp\"]\n[transport.tcp]\nheartbeat_interval_us = " +
           std::to_string(interval_ms * 1000) +
           "\nheartbeat_timeout_us = " + std::to_string(timeout_ms * 1000) + "\n";
}

/// Holds the Pings numbered below 0 unanswered; answers the others.
void holding_replier(Actor& self) {
    auto owed = std::make_shared<std::vector<ReplyHandle>>();
    self.handle([&self, owed](wire::Ping& ping) {
        if (ping.n < 0)
            owed->push_back(self.reply_later());
        else
            self.reply(wire::Pong{ping.n});
    });
}

long long ms_since(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

struct Resumed {
    Child& child;
    ~Resumed() { child.kill(SIGCONT); }  // a failed check must not leave it stopped
};

}  // namespace

TEST_CASE(
    "a tcp peer stopped with SIGSTOP is noticed by the heartbeat: its requests fail and "
    "its monitors get Down, and it is reached again once it goes on",
    "[process][failure][heartbeat]") {
    const std::string toml = tcp_with_heartbeat(50, 300);
    TempRuntimeDir dir;
    {
        auto child = spawn_node(configured(dir, "replier-node", toml), "replier", holding_replier);
        REQUIRE(child.expect('r'));
        Node node(configured(dir, "asker-node", toml));
        Mailbag<Expected<wire::Pong, Error>> answers;
        Mailbag<Down> downs;
        Mailbag<bool> asked;
        node.spawn("asker", [&](Actor& self) {
            self.handle([&downs](Down& down) { downs.put(down); });
            self.monitor("replier");
            for (int i = 1; i <= 10; ++i)
                self.request<wire::Pong>(
                    "replier", wire::Ping{-i}, never,
                    [&answers](Expected<wire::Pong, Error> r) { answers.put(std::move(r)); });
            asked.put(true);
        });
        REQUIRE(asked.take(10s));
        // The link is up and carries frames both ways (heartbeats at least).
        const auto up = Clock::now() + 10s;
        while (Clock::now() < up) {
            const auto links = node.links();
            const auto* link = link_to(links, "replier-node");
            if (link && link->frames_received > 0) break;
            std::this_thread::sleep_for(10ms);
        }
        const auto links = node.links();
        REQUIRE(link_to(links, "replier-node"));

        const auto stopped = Clock::now();
        child.kill(SIGSTOP);
        Resumed resume{child};
        for (int i = 0; i < 10; ++i) {
            auto answer = answers.take(10s);
            REQUIRE(answer);
            REQUIRE_FALSE(*answer);
            CHECK(answer->error().code == ErrorCode::peer_down);
            CHECK_THAT(answer->error().message, Catch::Contains("heartbeat_timeout_us"));
        }
        auto down = downs.take(10s);
        REQUIRE(down);
        CHECK(down->name == "replier");
        CHECK(down->reason == DownReason::link_broken);
        CHECK_THAT(down->detail, Catch::Contains("nothing arrived in 300 ms"));
        const auto ms = ms_since(stopped);
        INFO("noticed " << ms << " ms after SIGSTOP");
        CHECK(ms >= 300);  // not before the timeout: a stopped peer is silent, not gone
        WARN("tcp: a peer stopped with SIGSTOP was noticed " << ms << " ms after (timeout 300 ms)");

        child.kill(SIGCONT);
        auto again = node.request<wire::Pong>("replier", wire::Ping{7}, 10s);
        REQUIRE(again);
        CHECK(again->n == 7);
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("an idle tcp link is kept by heartbeats for many timeouts, both ways",
          "[process][heartbeat]") {
    const std::string toml = tcp_with_heartbeat(40, 200);
    TempRuntimeDir dir;
    {
        auto child = spawn_node(configured(dir, "echo-node", toml), "echo", echo);
        REQUIRE(child.expect('r'));
        Node node(configured(dir, "idle-node", toml));
        Mailbag<Down> downs;
        node.spawn("watcher", [&downs](Actor& self) {
            self.handle([&downs](Down& down) { downs.put(down); });
            self.monitor("echo");
        });
        auto first = node.request<wire::Pong>("echo", wire::Ping{1}, 10s);
        REQUIRE(first);
        const auto first_links = node.links();
        const auto* link = link_to(first_links, "echo-node");
        REQUIRE(link);
        const auto received = link->frames_received;
        const auto sent = link->frames_sent;
        // Nothing but heartbeats from here: 15 of them each way span three timeouts.
        const auto deadline = Clock::now() + 20s;
        std::optional<LinkInfo> now;
        while (Clock::now() < deadline) {
            auto links = node.links();
            REQUIRE(links.size() == 1);  // the same link all along: never dropped, never made again
            now = *link_to(links, "echo-node");
            if (now->frames_received >= received + 15 && now->frames_sent >= sent + 15) break;
            std::this_thread::sleep_for(20ms);
        }
        REQUIRE(now);
        CHECK(now->frames_received >= received + 15);
        CHECK(now->frames_sent >= sent + 15);
        CHECK_FALSE(downs.take(0ms));
        auto last = node.request<wire::Pong>("echo", wire::Ping{2}, 10s);
        REQUIRE(last);
        CHECK(last->n == 3);
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE(
    "a send blocked on a tcp peer stopped with SIGSTOP returns when the heartbeat drops "
    "the link, as a dead letter",
    "[process][failure][heartbeat]") {
    const std::string toml = tcp_with_heartbeat(50, 300);
    TempRuntimeDir dir;
    {
        auto child = spawn_node(configured(dir, "sink-node", toml), "sink", recorder);
        REQUIRE(child.expect('r'));
        Node node(configured(dir, "source-node", toml));
        auto first = node.request<wire::Pong>("sink", wire::Report{}, 10s);
        REQUIRE(first);
        child.kill(SIGSTOP);
        Resumed resume{child};
        // Far more than both sockets' buffers hold: the send waits for a reader that is
        // stopped, until the heartbeat gives up on the link.
        const auto started = Clock::now();
        Mailbag<long long> returned;
        std::thread sender([&] {
            node.send("sink", wire::Numbered{0, std::string(std::size_t{64} << 20, 'x')});
            returned.put(ms_since(started));
        });
        auto ms = returned.take(20s);
        sender.join();
        REQUIRE(ms);
        INFO("the send returned after " << *ms << " ms");
        CHECK(*ms >= 300);
        const auto deadline = Clock::now() + 10s;
        while (node.stats().dead_letters == 0 && Clock::now() < deadline)
            std::this_thread::sleep_for(10ms);
        CHECK(node.stats().dead_letters == 1);
    }
    CHECK(dir.wait_until_empty());
}
