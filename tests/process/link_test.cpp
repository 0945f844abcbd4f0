// Links between nodes in separate processes: which transport a link takes and why, what
// it counts, and what `courier links` and `courier ps` show of it and of the mailboxes.

#include "node_support.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <future>
#include <string>
#include <tuple>
#include <vector>

using namespace courier;
using namespace courier::test;

TEST_CASE("a link takes the first preferred transport both nodes offer, or the one a rule pins",
          "[process][node][config]") {
    TempRuntimeDir dir;
    const std::string by_preference = "[links]\npreference = [\"tcp\", \"unix\"]\n";
    const std::string by_rule = by_preference +
                                "[[links.rule]]\nfrom = \"asker-*\"\nto = \"echo-node\"\n"
                                "transport = \"unix\"\n";
    auto [toml, transport, reason] =
        GENERATE_COPY(std::make_tuple(by_preference, std::string("tcp"), std::string("default")),
                      std::make_tuple(by_rule, std::string("unix"),
                                      std::string("rule \"asker-* -> echo-node\"")));
    {
        auto child_options = configured(dir, "echo-node", by_preference);
        auto child = spawn_node(child_options, "echo", echo);
        REQUIRE(child.expect('r'));
        Node node(configured(dir, "asker-1", toml));
        REQUIRE(node.request<wire::Pong>("echo", wire::Ping{1}, 5s).has_value());
        auto links = node.links();
        const auto* link = link_to(links, "echo-node");
        REQUIRE(link);
        CHECK(link->transport == transport);
        CHECK(link->reason == reason);
        CHECK(link->initiated);
        CHECK(link->frames_sent >= 1);
        CHECK(link->frames_received >= 1);
        child.send('q');
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("a link counts every frame and byte it carries, sent within a turn or alone",
          "[process][node]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_node(dir, "recorder-node", "recorder", recorder);
        REQUIRE(child.expect('r'));
        Node node(node_options(dir, "counting-node"));
        auto link_now = [&node] {
            auto links = node.links();
            const auto* link = link_to(links, "recorder-node");
            REQUIRE(link);
            return *link;
        };
        REQUIRE(node.request<wire::Pong>("recorder", wire::Report{}, 5s));  // opens the link
        const LinkInfo before = link_now();

        // Sends of one turn are counted when the turn ends, all of them.
        Mailbag<std::int64_t> result;
        constexpr std::int64_t count = 100;
        node.spawn("pinger", [&](Actor& self) {
            for (std::int64_t i = 0; i < count; ++i) self.send("recorder", wire::Ping{i});
            self.request<wire::Pong>(
                "recorder", wire::Report{}, 5s,
                [&](Expected<wire::Pong, Error> r) { result.put(r ? r->n : -2); });
        });
        auto received = result.take();
        REQUIRE(received);
        REQUIRE(*received == count);
        const LinkInfo after = link_now();
        EnvelopeHeader ping{0, 0, 0, 0, "pinger", "recorder"};
        EnvelopeHeader report{envelope_flags::request, 0, 0, 0, "pinger", "recorder"};
        EnvelopeHeader pong{envelope_flags::reply, 0, 0, 0, "recorder", "pinger"};
        const auto ping_size = encode_message(ping, wire::Ping{}).size();
        const auto report_size = encode_message(report, wire::Report{}).size();
        const auto pong_size = encode_message(pong, wire::Pong{}).size();
        CHECK(after.frames_sent - before.frames_sent == count + 1);
        CHECK(after.bytes_sent - before.bytes_sent == count * ping_size + report_size);
        CHECK(after.frames_received - before.frames_received == 1);
        CHECK(after.bytes_received - before.bytes_received == pong_size);

        // A send outside any turn is counted at once.
        REQUIRE(node.request<wire::Pong>("recorder", wire::Report{}, 5s));
        const LinkInfo last = link_now();
        CHECK(last.frames_sent - after.frames_sent == 1);
        CHECK(last.frames_received - after.frames_received == 1);
        child.send('q');
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("courier links shows each node's links with transport and reason",
          "[process][node][cli]") {
    TempRuntimeDir dir;
    {
        const std::string toml = "[links]\npreference = [\"fifo\", \"unix\"]\n";
        auto child_options = configured(dir, "echo-node", toml);
        auto child = spawn_node(child_options, "echo", echo);
        REQUIRE(child.expect('r'));
        Node node(configured(dir, "asker-node", toml));
        REQUIRE(node.request<wire::Pong>("echo", wire::Ping{1}, 5s).has_value());

        auto out = run_command(
            {(bin_dir() / "courier").string(), "links", "--runtime-dir", dir.path().string()});
        CHECK(out.exit_code == 0);
        INFO(out.out);
        // Both ends report the link: the asker chose fifo by preference, the echo node accepted.
        CHECK_THAT(out.out, Catch::Contains("TRANSPORT") && Catch::Contains("WHY"));
        CHECK_THAT(out.out, Catch::Matches("(.|\n)*asker-node +echo-node +fifo +default(.|\n)*"));
        CHECK_THAT(out.out, Catch::Matches("(.|\n)*echo-node +asker-node +fifo +accepted(.|\n)*"));
        child.send('q');
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE(
    "courier links and courier ps show each actor's mailbox: what it holds, its limit "
    "and what the limit did",
    "[process][node][cli][mailbox_limit]") {
    TempRuntimeDir dir;
    {
        std::promise<void> held, release;
        std::shared_future<void> released = release.get_future().share();
        Node node(node_options(dir, "held-node"));
        node.spawn("slow", [&held, released](Actor& self) {
            self.mailbox_limit({3, std::size_t{1} << 20, Overflow::fail});
            self.handle([&held, released](wire::Go&) {
                held.set_value();
                released.wait();
            });
            self.handle([](wire::Ping&) {});
        });
        REQUIRE(node.wait_for("slow", 5s));
        REQUIRE(node.send("slow", wire::Go{}));
        REQUIRE(held.get_future().wait_for(10s) == std::future_status::ready);
        for (int i = 0; i < 3; ++i) REQUIRE(node.send("slow", wire::Ping{i}));
        auto refused = node.send("slow", wire::Ping{3});
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == ErrorCode::mailbox_full);

        const std::string cli = (bin_dir() / "courier").string();
        auto links = run_command({cli, "links", "--runtime-dir", dir.path().string()});
        CHECK(links.exit_code == 0);
        INFO(links.out);
        CHECK_THAT(links.out, Catch::Contains("MAILBOX") && Catch::Contains("OVERFLOW"));
        CHECK_THAT(links.out, Catch::Matches("(.|\n)*held-node +slow +3 +3 +3 \\(1048576 B\\) "
                                             "+fail +[0-9]+ ms +1 +0\n(.|\n)*"));
        auto ps = run_command({cli, "ps", "--runtime-dir", dir.path().string()});
        CHECK(ps.exit_code == 0);
        INFO(ps.out);
        CHECK_THAT(ps.out, Catch::Contains("FULLEST MAILBOX"));
        CHECK_THAT(ps.out,
                   Catch::Matches("(.|\n)*held-node +[0-9]+ .* slow 3/3 +- +1 .*\n(.|\n)*"));
        release.set_value();
    }
    CHECK(dir.wait_until_empty());
}
