// Link selection (link_selection.hpp): which transport a link between two nodes takes,
// by rule, override, preference or capability, and why.
#include <courier/framework/link_selection.hpp>

#include "config_support.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace config_support;
using courier::SelectionReason;

TEST_CASE("the first matching rule decides a link's transport", "[config]") {
    Config config = parse(R"(
[[links.rule]]
from = "sensor-?"
to = "logger"
transport = "unix"

[[links.rule]]
from = "sensor-*"
to = "*"
transport = "tcp"

[[links.rule]]
from = "*"
to = "*"
transport = "shm"
)");
    auto pick = [&](std::string_view from, std::string_view to) {
        auto selection = courier::choose(config, from, to, both, both, true);
        REQUIRE(selection);
        CHECK(selection->reason == SelectionReason::rule);
        return selection->transport;
    };
    CHECK(pick("sensor-1", "logger") == "unix");
    CHECK(pick("sensor-12", "logger") == "tcp");
    CHECK(pick("sensor-1", "archive") == "tcp");
    CHECK(pick("worker/3", "logger") == "shm");

    auto selection = courier::choose(config, "sensor-1", "logger", both, both, true);
    REQUIRE(selection);
    REQUIRE(selection->rule);
    CHECK(selection->rule->line == 2);
    CHECK(selection->describe() == "rule \"sensor-? -> logger\"");
}

TEST_CASE("glob patterns match names with slashes and character classes", "[config]") {
    courier::LinkRule rule{"worker/*", "db-[ab]", "unix", 0};
    CHECK(rule.matches("worker/3", "db-a"));
    CHECK(rule.matches("worker/pool/3", "db-b"));
    CHECK_FALSE(rule.matches("worker/3", "db-c"));
    CHECK_FALSE(rule.matches("workers", "db-a"));
}

TEST_CASE("selection reasons: default, rule, override, cross-host", "[config]") {
    Config config = Config::defaults(all_schemes());

    SECTION("default: the first preferred transport both nodes offer") {
        auto selection =
            courier::choose(config, "a", "b", {"shm", "unix", "tcp"}, {"unix", "tcp"}, true);
        REQUIRE(selection);
        CHECK(selection->transport == "unix");
        CHECK(selection->reason == SelectionReason::preference);
        CHECK(selection->describe() == "default");
    }
    SECTION("the preference order, not the order a node offers them in") {
        config.preference = {"tcp", "unix"};
        auto selection = courier::choose(config, "a", "b", {"unix", "tcp"}, {"unix", "tcp"}, true);
        REQUIRE(selection);
        CHECK(selection->transport == "tcp");
    }
    SECTION("cross-host links use tcp whatever the rules and override say") {
        config.rules.push_back({"*", "*", "shm", 0});
        config.override_transport = "unix";
        auto selection = courier::choose(config, "a", "b", both, both, false);
        REQUIRE(selection);
        CHECK(selection->transport == "tcp");
        CHECK(selection->describe() == "cross-host");
    }
    SECTION("a rule pinning what the peer lacks fails and says so") {
        config.rules.push_back({"a", "b", "shm", 7});
        config.source = "app.toml";
        auto selection = courier::choose(config, "a", "b", both, {"unix", "tcp"}, true);
        REQUIRE_FALSE(selection);
        CHECK(selection.error() ==
              "rule \"a -> b\" (app.toml:7) pins shm, but node \"b\" does not offer shm "
              "(it offers: unix, tcp)");
    }
    SECTION("an override the peer lacks fails and says so") {
        config.override_transport = "shm";
        auto selection = courier::choose(config, "a", "b", {"unix"}, {"shm", "unix"}, true);
        REQUIRE_FALSE(selection);
        CHECK(selection.error() ==
              "COURIER_TRANSPORT=shm, but node \"a\" does not offer shm (it offers: unix)");
    }
    SECTION("no common transport") {
        auto selection = courier::choose(config, "a", "b", {"shm"}, {"unix"}, true);
        REQUIRE_FALSE(selection);
        CHECK(selection.error().find("is offered by both node \"a\" (shm) and node \"b\" (unix)") !=
              std::string::npos);
    }
    SECTION("another host without tcp") {
        auto selection = courier::choose(config, "a", "b@far", both, {"unix"}, false);
        REQUIRE_FALSE(selection);
        CHECK(selection.error() ==
              "node \"b@far\" is on another host, which needs tcp, but node \"b@far\" does not "
              "offer tcp (it offers: unix)");
    }
}

TEST_CASE("a link to another host takes a transport that crosses hosts, by its capabilities",
          "[config]") {
    const auto& registry = TransportRegistry::builtin();
    const auto crosses = [&](const std::string& scheme) {
        return registry.find(scheme)->capabilities.cross_host;
    };
    const auto& all = courier::default_preference_order();
    std::vector<std::string> crossing, local;
    for (const auto& scheme : all) (crosses(scheme) ? crossing : local).push_back(scheme);
    REQUIRE_FALSE(crossing.empty());

    // The same-host preference list and the override have no say across hosts.
    Config config = Config::defaults(all_schemes());
    config.preference = {local.front()};
    config.override_transport = local.front();
    auto selection = courier::choose(config, "a", "b@far", all, all, false);
    REQUIRE(selection);
    CHECK(selection->transport == crossing.front());  // the best ranked that crosses
    CHECK(crosses(selection->transport));
    CHECK(selection->reason == SelectionReason::cross_host);

    // Nodes that offer only same-host transports cannot be linked across hosts.
    auto refused = courier::choose(config, "a", "b@far", all, local, false);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().starts_with("node \"b@far\" is on another host"));
}

// The tests below read which transports pass descriptors from the transports themselves
// (unix does, fifo and shm do not), as the loader does.

TEST_CASE("a rule whose links carry fds cannot pin a transport without fd passing",
          "[config][fd]") {
    SECTION("refused at load time, at the transport, saying what would work") {
        auto error = error_of(
            "[[links.rule]]\nfrom = \"a\"\nto = \"b\"\nfds = true\n"
            "transport = \"fifo\"\n");
        CHECK(error.line() == 5);
        CHECK(error.column() == 13);
        CHECK(error.reason() ==
              "rule \"a -> b\" says its links carry file descriptors "
              "(fds = true), but transport \"fifo\" cannot pass them; use one "
              "that can (unix) or leave transport out");
        CHECK_THAT(std::string(error.what()), Catch::StartsWith("test.toml:5:13: rule"));
    }
    SECTION("a transport with fd passing is accepted") {
        Config config = parse(
            "[[links.rule]]\nfrom = \"a\"\nto = \"b\"\ntransport = \"unix\"\n"
            "fds = true\n");
        REQUIRE(config.rules.size() == 1);
        CHECK(config.rules[0].fds);
        CHECK(config.rules[0].transport == "unix");
    }
    SECTION("fds must be a boolean") {
        auto error = error_of("[[links.rule]]\nfrom = \"a\"\nto = \"b\"\nfds = \"yes\"\n");
        CHECK(error.line() == 4);
        CHECK(error.reason() == "links.rule.fds must be true or false, not a string");
    }
    SECTION("a rule needs a transport or fds") {
        auto error = error_of("[[links.rule]]\nfrom = \"a\"\nto = \"b\"\nfds = false\n");
        CHECK(error.line() == 1);
        CHECK_THAT(error.reason(), Catch::Contains("lacks \"transport\""));
    }
    SECTION("fds without a transport needs a preferred transport that passes them") {
        auto error = error_of(
            "[links]\npreference = [\"shm\", \"fifo\"]\n\n"
            "[[links.rule]]\nfrom = \"a\"\nto = \"b\"\nfds = true\n");
        CHECK(error.line() == 4);
        CHECK(error.reason() ==
              "rule \"a -> b\" says its links carry file descriptors but pins no transport, and "
              "links.preference (shm, fifo) has none that passes them; add one of: unix");
    }
}

TEST_CASE("links that carry fds get only a transport with fd passing", "[config][fd]") {
    Config config = parse("[[links.rule]]\nfrom = \"app\"\nto = \"helper-*\"\nfds = true\n");
    REQUIRE(config.rules.size() == 1);
    CHECK(config.rules[0].transport.empty());

    SECTION("the first preferred transport that passes fds, skipping faster ones") {
        auto selection = courier::choose(config, "app", "helper-1", both, both, true);
        REQUIRE(selection);
        CHECK(selection->transport == "unix");
        CHECK(selection->reason == SelectionReason::rule);
        CHECK(selection->describe() == "rule \"app -> helper-*\"");
        // Links the rule does not match keep the plain preference.
        auto other = courier::choose(config, "app", "logger", both, both, true);
        REQUIRE(other);
        CHECK(other->transport == "shm");
    }
    SECTION("none offered by both is an error that says so") {
        auto selection = courier::choose(config, "app", "helper-1", both, {"shm", "tcp"}, true);
        REQUIRE_FALSE(selection);
        CHECK(selection.error() ==
              "rule \"app -> helper-*\" (test.toml:1) says its links carry file descriptors, but "
              "no transport of the preference list that passes them (unix) is offered by both "
              "node \"app\" (shm, unix, tcp) and node \"helper-1\" (shm, tcp)");
    }
    SECTION("a rule built in code that pins a transport without fd passing") {
        config.rules = {courier::LinkRule{"app", "*", "shm", 0, true}};
        auto selection = courier::choose(config, "app", "helper-1", both, both, true);
        REQUIRE_FALSE(selection);
        CHECK(selection.error() ==
              "rule \"app -> *\" pins shm, which cannot pass the file "
              "descriptors its links carry");
    }
    SECTION("an override without fd passing") {
        config.override_transport = "shm";
        auto selection = courier::choose(config, "app", "helper-1", both, both, true);
        REQUIRE_FALSE(selection);
        CHECK_THAT(selection.error(), Catch::StartsWith("COURIER_TRANSPORT=shm, but rule"));
        // Links the rule does not match take the override as always.
        CHECK(courier::choose(config, "app", "logger", both, both, true));
    }
}
