// Dead letters with real processes: a producer whose consumer was killed sends on as fast
// as it can. Every letter is counted and bounced, the log says it a line a second, the
// registry is asked once, and when another process registers the name the producer's
// sends reach it. `courier ps` and `courier links` show the count.

#include "process_support.hpp"

#include "support/log_capture.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <regex>
#include <string>

namespace dead_wire {
struct Ping {
    std::int64_t n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
struct Pong {
    std::int64_t n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
struct Go {
    template <class A>
    void serialize(A&) {}
};
}  // namespace dead_wire

COURIER_MESSAGE(dead_wire::Ping, "test.dead_letters.Ping");
COURIER_MESSAGE(dead_wire::Pong, "test.dead_letters.Pong");
COURIER_MESSAGE(dead_wire::Go, "test.dead_letters.Go");

namespace {

using namespace courier;
using namespace courier::test;
using courier_test::LogCapture;
using Clock = std::chrono::steady_clock;

void echo(Actor& self) {
    self.handle<dead_wire::Ping>(
        [&self](dead_wire::Ping& p) { self.reply(dead_wire::Pong{p.n + 1}); });
}

/// A child whose node hosts an echo named "consumer": at once, or only once the parent
/// writes 'g' (a successor). Writes 'r' once it is registered; stays until 'q'.
Child spawn_consumer(const TempRuntimeDir& dir, std::string node, bool at_once) {
    return Child::fork([=, &dir](ChildChannel& channel) {
        if (!at_once && channel.receive() != 'g') return 2;
        Node n(node_options(dir, node));
        n.spawn("consumer", echo);
        channel.send('r');
        while (char c = channel.receive())
            if (c == 'q') break;
        return 0;
    });
}

/// The dead letters to 'consumer' the log accounts for: one per line that opened a window,
/// plus the count of each line that closed one.
std::uint64_t logged_dead_letters(const std::string& text) {
    static const std::regex opened(
        "dead letter: test\\.dead_letters\\.Ping from 'producer' to "
        "'consumer'");
    static const std::regex counted("and ([0-9,]+) more like it to 'consumer'");
    std::uint64_t total = 0;
    for (std::sregex_iterator it(text.begin(), text.end(), opened), end; it != end; ++it) ++total;
    for (std::sregex_iterator it(text.begin(), text.end(), counted), end; it != end; ++it) {
        std::string digits = (*it)[1];
        std::erase(digits, ',');
        total += std::stoull(digits);
    }
    return total;
}

std::size_t dead_letter_lines(const std::string& text) {
    std::size_t n = 0;
    for (auto at = text.find("dead letter:"); at != std::string::npos;
         at = text.find("dead letter:", at + 1))
        ++n;
    return n;
}

}  // namespace

TEST_CASE(
    "a producer whose consumer was killed: every letter bounced, a line a second, one "
    "lookup, and a new consumer is reached",
    "[process][dead_letters]") {
    TempRuntimeDir dir;
    {
        auto consumer = spawn_consumer(dir, "consumer-node", /*at_once=*/true);
        auto successor = spawn_consumer(dir, "successor-node", /*at_once=*/false);
        REQUIRE(consumer.expect('r'));
        LogCapture log;
        Node node(node_options(dir, "producer-node"));
        REQUIRE(node.request<dead_wire::Pong>("consumer", dead_wire::Ping{1}, 5s));

        consumer.kill(SIGKILL);
        REQUIRE(consumer.wait_exit());
        // The producer's node has seen both ends of it: the link broke, the name is gone.
        REQUIRE(eventually([&] {
            for (const auto& link : node.links())
                if (link.peer_node == "consumer-node") return false;
            return !node.wait_for("consumer", 0ms);
        }));

        const NodeStats before = node.stats();
        const std::size_t lines_before = dead_letter_lines(log.text());
        constexpr std::int64_t total = 200'000;
        constexpr std::int64_t batch = 1000;
        Mailbag<std::int64_t> done;
        const auto start = Clock::now();
        // As fast as it can, a batch a turn (so that its bounces stay few in its mailbox).
        node.spawn("producer", [&done](Actor& self) {
            auto sent = std::make_shared<std::int64_t>(0);
            auto bounced = std::make_shared<std::int64_t>(0);
            self.handle<DeadLetter>([bounced, &done](DeadLetter& dead) {
                if (dead.recipient == "consumer" && dead.code == ErrorCode::unknown_name)
                    ++*bounced;
                if (*bounced == total) done.put(*bounced);
            });
            self.handle<dead_wire::Go>([sent, &self](dead_wire::Go&) {
                for (std::int64_t i = 0; i < batch; ++i)
                    self.send("consumer", dead_wire::Ping{(*sent)++});
                if (*sent < total) self.send("producer", dead_wire::Go{});
            });
            self.send("producer", dead_wire::Go{});
        });
        REQUIRE(done.take(120s));
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        const NodeStats after = node.stats();
        const std::string text = log.text();
        const std::size_t lines = dead_letter_lines(text) - lines_before;
        INFO(total << " dead letters in " << seconds << " s, " << lines << " log lines");
        WARN(total << " sends to a dead name: " << seconds << " s, " << lines << " log lines, "
                   << after.registry_lookups - before.registry_lookups << " registry lookups");

        CHECK(after.dead_letters - before.dead_letters == static_cast<std::uint64_t>(total));
        // The first send asked the registry; its answer is remembered until the name comes up.
        CHECK(after.registry_lookups - before.registry_lookups == 1);
        // A line opens the window, and each second of it that counted some says its count.
        CHECK(lines <= 2 + static_cast<std::size_t>(std::ceil(seconds)));
        // Every dead letter is accounted for once the last window's count is said.
        CHECK(eventually([&] { return logged_dead_letters(log.text()) == total; }, 5s));

        // Another process registers the name: the NameUp it causes reaches the producer's
        // node before the answer to a lookup asked after it (one connection, in order).
        successor.send('g');
        REQUIRE(successor.expect('r'));
        REQUIRE(node.wait_for("consumer", 0ms));
        auto reply = node.request<dead_wire::Pong>("consumer", dead_wire::Ping{41}, 5s);
        REQUIRE(reply.has_value());
        CHECK(reply->n == 42);
        CHECK(node.stats().registry_lookups > after.registry_lookups);
        successor.send('q');
        CHECK(successor.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("courier ps and courier links show a node's dead letters and where they went",
          "[process][dead_letters][cli]") {
    TempRuntimeDir dir;
    {
        auto consumer = spawn_consumer(dir, "consumer-node", /*at_once=*/true);
        REQUIRE(consumer.expect('r'));
        LogCapture log;  // keeps the dead letters' lines out of the test's output
        Node node(node_options(dir, "producer-node"));
        REQUIRE(node.request<dead_wire::Pong>("consumer", dead_wire::Ping{1}, 5s));
        Mailbag<int> bounced;
        node.spawn("producer", [&bounced](Actor& self) {
            self.handle<DeadLetter>([&bounced](DeadLetter&) { bounced.put(1); });
            for (int i = 0; i < 3; ++i) self.send("nobody", dead_wire::Ping{i});
        });
        for (int i = 0; i < 3; ++i) REQUIRE(bounced.take(5s));

        const std::string cli = (bin_dir() / "courier").string();
        auto ps = run_command({cli, "ps", "--runtime-dir", dir.path().string()});
        CHECK(ps.exit_code == 0);
        INFO(ps.out);
        CHECK_THAT(ps.out, Catch::Contains("DEAD LETTERS"));
        CHECK_THAT(ps.out, Catch::Matches("(.|\n)*producer-node +[0-9]+ .* 3 \\(most to nobody\\)"
                                          "\n(.|\n)*"));
        CHECK_THAT(ps.out, Catch::Matches("(.|\n)*consumer-node +[0-9]+ .* 0\n(.|\n)*"));

        auto links = run_command({cli, "links", "--runtime-dir", dir.path().string()});
        CHECK(links.exit_code == 0);
        INFO(links.out);
        CHECK_THAT(links.out, Catch::Contains("DEAD LETTERS") && Catch::Contains("MOST TO"));
        CHECK_THAT(links.out,
                   Catch::Matches("(.|\n)*producer-node +3 +nobody \\(unknown_name\\) 3\n(.|\n)*"));
        consumer.send('q');
        CHECK(consumer.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}
