// The config file and the environment: reading, checking, and what they override.
#include <courier/framework/config.hpp>
#include <courier/framework/node.hpp>
#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
#include "config_support.hpp"

using namespace std::chrono_literals;
using namespace config_support;
using courier::SelectionReason;
using courier::SettingSpec;
using courier::SettingType;

TEST_CASE(
    "defaults prefer the fastest transport the build has, and leave out those other "
    "hosts can reach",
    "[config]") {
    Config config = Config::defaults(registry_of({"tcp", "unix", "shm"}));
    CHECK(config.preference == std::vector<std::string>{"shm", "unix"});
    CHECK(config.rules.empty());
    CHECK_FALSE(config.override_transport);
    CHECK(config.source.empty());
    CHECK(config.settings("shm") == courier::TransportSettings{});
    CHECK_FALSE(config.node.threads);
    CHECK_FALSE(config.node.worker_spin);
    CHECK_FALSE(config.registry.idle_exit);

    Config builtin = Config::defaults();
    for (const auto& scheme : builtin.preference) {
        CHECK(courier::TransportRegistry::builtin().find(scheme) != nullptr);
    }
    CHECK_FALSE(builtin.preference.empty());
}

TEST_CASE("the default preference order is the transports' own ranks", "[config]") {
    // Added in no particular order: the ranks decide, and a tie keeps the order of adding.
    TransportRegistry registry;
    for (auto [scheme, rank] : {std::pair{"tortoise", 30}, std::pair{"hare", 10},
                                std::pair{"snail", 30}, std::pair{"owl", 20}}) {
        courier::TransportEntry entry;
        entry.scheme = scheme;
        entry.preference_rank = rank;
        registry.add(std::move(entry));
    }
    CHECK(registry.preference_order() ==
          std::vector<std::string>{"hare", "owl", "tortoise", "snail"});
    CHECK(Config::defaults(registry).preference == registry.preference_order());

    // The builtin transports, each once, by rank (docs/courier.example.toml lists this
    // order, and the test of the example file holds it to the defaults).
    const auto& order = courier::default_preference_order();
    for (std::size_t i = 1; i < order.size(); ++i) {
        INFO(order[i - 1] << " before " << order[i]);
        CHECK(TransportRegistry::builtin().find(order[i - 1])->preference_rank <
              TransportRegistry::builtin().find(order[i])->preference_rank);
    }
    CHECK(order.size() == TransportRegistry::builtin().entries().size());
}

TEST_CASE("an empty file gives the defaults", "[config]") {
    Config config = Config::parse("# nothing\n", "empty.toml", registry_of({"unix"}));
    CHECK(config.preference == std::vector<std::string>{"unix"});
    CHECK(config.source == "empty.toml");
}

TEST_CASE("a full file sets every section", "[config]") {
    Config config = parse(R"(
[links]
preference = ["unix", "shm"]

[[links.rule]]
from = "sensor-*"
to = "logger"
transport = "posixmq"

[[links.rule]]
from = "*"
to = "video-?"
transport = "shm"

[node]
cpus = 1.5
threads = 8
worker_spin_us = 0
runtime_dir = "/run/courier-test"
handle_signals = false
drain_timeout_ms = 250
actor_failure = "escalate"
actor_max_restarts = 3
actor_restart_window_ms = 2000
mailbox_letters = 64
mailbox_bytes = 65536
mailbox_overflow = "drop_newest"
send_timeout_ms = 750
credit_letters = 128
credit_bytes = 131072

[registry]
autostart = false
idle_exit_ms = 0
timeout_ms = 250

[transport.shm]
ring_size = 4194304
spin_us = 0
max_frame_size = 1024

[transport.posixmq]
max_messages = 64
message_size = 65536

[transport.sysv]
max_bytes = 65536

[transport.tcp]
send_buffer = 262144
receive_buffer = 131072
)");
    CHECK(config.preference == std::vector<std::string>{"unix", "shm"});
    REQUIRE(config.rules.size() == 2);
    CHECK(config.rules[0].from == "sensor-*");
    CHECK(config.rules[0].to == "logger");
    CHECK(config.rules[0].transport == "posixmq");
    CHECK(config.rules[0].line == 5);
    CHECK(config.rules[1].describe() == "* -> video-?");
    CHECK(config.node.cpus == 1.5);
    CHECK(config.node.threads == 8u);
    CHECK(config.node.worker_spin == std::chrono::microseconds(0));
    CHECK(config.node.runtime_dir == std::filesystem::path("/run/courier-test"));
    CHECK(config.node.handle_signals == false);
    CHECK(config.node.drain_timeout == 250ms);
    CHECK(config.node.actor_failure == courier::FailurePolicy::escalate);
    CHECK(config.node.actor_max_restarts == 3u);
    CHECK(config.node.actor_restart_window == 2000ms);
    CHECK(config.node.mailbox_letters == 64u);
    CHECK(config.node.mailbox_bytes == 65536u);
    CHECK(config.node.mailbox_overflow == courier::Overflow::drop_newest);
    CHECK(config.node.send_timeout == 750ms);
    CHECK(config.node.credit_letters == 128u);
    CHECK(config.node.credit_bytes == 131072u);
    CHECK(config.registry.autostart == false);
    CHECK(config.registry.idle_exit == 0ms);
    CHECK(config.registry.timeout == 250ms);

    using Values = std::map<std::string, std::int64_t, std::less<>>;
    const auto& shm = config.settings("shm");
    CHECK(shm.values == Values{{"max_frame_size", 1024}, {"ring_size", 4194304}, {"spin_us", 0}});
    // The generic key goes to its field, the transport's own to the settings it reads.
    const auto options = shm.options();
    CHECK(options.max_frame_size == 1024u);
    CHECK(options.settings == Values{{"ring_size", 4194304}, {"spin_us", 0}});
    CHECK(config.settings("posixmq").values ==
          Values{{"max_messages", 64}, {"message_size", 65536}});
    CHECK(config.settings("sysv").values == Values{{"max_bytes", 65536}});
    CHECK(config.settings("tcp").values ==
          Values{{"receive_buffer", 131072}, {"send_buffer", 262144}});
    CHECK(config.settings("unix") == courier::TransportSettings{});
    CHECK(config.settings("unix").options().max_frame_size ==
          courier::TransportOptions{}.max_frame_size);
}

TEST_CASE("the example file lists every setting of every transport with its default", "[config]") {
    REQUIRE(std::filesystem::exists(example_file()));
    // The builtin registry: a transport added to courier must be added to the example.
    Config config = Config::load_file(example_file());
    CHECK(config.source == example_file().string());
    CHECK(config.preference == Config::defaults().preference);
    CHECK(config.rules.empty());
    CHECK(config.transports.size() == TransportRegistry::builtin().entries().size());
    for (const auto& entry : TransportRegistry::builtin().entries()) {
        INFO("[transport." << entry.scheme << "]");
        REQUIRE(config.transports.contains(entry.scheme));
        const auto& values = config.settings(entry.scheme).values;
        std::vector<SettingSpec> declared(courier::generic_settings().begin(),
                                          courier::generic_settings().end());
        declared.insert(declared.end(), entry.settings.begin(), entry.settings.end());
        CHECK(values.size() == declared.size());
        for (const auto& spec : declared) {
            INFO(spec.name);
            const auto found = values.find(spec.name);
            REQUIRE(found != values.end());
            CHECK(found->second == spec.default_value);
        }
    }
    CHECK(config.node.cpus == courier::NodeOptions{}.cpus);
    CHECK(config.node.threads == courier::NodeOptions{}.threads);
    CHECK(config.node.worker_spin == courier::NodeOptions{}.worker_spin);
    CHECK_FALSE(config.node.runtime_dir);
    CHECK(config.node.handle_signals == courier::NodeOptions{}.handle_signals);
    CHECK(config.node.drain_timeout == courier::NodeOptions{}.drain_timeout);
    CHECK(config.node.actor_failure == courier::NodeOptions{}.actor_failure);
    CHECK(config.node.actor_max_restarts == courier::NodeOptions{}.actor_restart_limit.restarts);
    CHECK(config.node.actor_restart_window == courier::NodeOptions{}.actor_restart_limit.within);
    CHECK(config.node.mailbox_letters == courier::NodeOptions{}.mailbox_limit.letters);
    CHECK(config.node.mailbox_bytes == courier::NodeOptions{}.mailbox_limit.bytes);
    CHECK(config.node.mailbox_overflow == courier::NodeOptions{}.mailbox_limit.overflow);
    CHECK(config.node.send_timeout == courier::NodeOptions{}.send_timeout);
    CHECK(config.node.credit_letters == courier::NodeOptions{}.credit_window.letters);
    CHECK(config.node.credit_bytes == courier::NodeOptions{}.credit_window.bytes);
    CHECK(config.node.metrics_address == courier::NodeOptions{}.metrics_address);
    CHECK(config.registry.autostart == courier::RegistryOptions{}.autostart);
    CHECK(config.registry.timeout == courier::RegistryOptions{}.timeout);
    CHECK(config.registry.idle_exit == 10000ms);  // courierd's own default
}

namespace {

/// A transport the loader has never heard of, with one setting of each type.
struct PigeonTransport {
    static constexpr std::string_view scheme = "pigeon";
    static constexpr int preference_rank = 100;
    static constexpr SettingSpec birds{"birds", SettingType::integer, 3, 1, "birds per loft"};
    static constexpr SettingSpec homing{"homing", SettingType::boolean, 1, 0, "birds fly back"};
    static constexpr SettingSpec rest{"rest_us", SettingType::duration, 50, 0, "rest per hop"};
    static constexpr SettingSpec loft{"loft_size", SettingType::size, 4096, 1,
                                      "bytes a loft holds"};
    static constexpr std::array settings{birds, homing, rest, loft};
    static courier::Capabilities capabilities() { return {}; }
    static std::unique_ptr<courier::Listener> listen(const courier::Endpoint&,
                                                     const courier::TransportOptions&) {
        return nullptr;
    }
    static std::unique_ptr<courier::Link> connect(const courier::Endpoint&,
                                                  const courier::TransportOptions&) {
        return nullptr;
    }
};

}  // namespace

TEST_CASE("a transport's own settings are checked against its declarations", "[config]") {
    TransportRegistry registry = registry_of({"unix"});
    registry.add<PigeonTransport>();
    auto error_in = [&](const std::string& text) -> std::string {
        try {
            Config::parse(text, "pigeon.toml", registry);
        } catch (const ConfigError& error) {
            return error.what();
        }
        return "parsed";
    };

    Config config = Config::parse(
        "[transport.pigeon]\nbirds = 5\nhoming = false\nrest_us = 7\nmax_frame_size = 64\n",
        "pigeon.toml", registry);
    const auto options = config.settings("pigeon").options();
    CHECK(options.max_frame_size == 64u);
    CHECK(options.integer(PigeonTransport::birds) == 5);
    CHECK_FALSE(options.flag(PigeonTransport::homing));
    CHECK(options.duration(PigeonTransport::rest) == 7us);
    CHECK(options.size(PigeonTransport::loft) == 4096u);  // not set: the declared default
    CHECK_THROWS_AS(options.size(PigeonTransport::birds), std::logic_error);  // not a size

    CHECK(error_in("[transport.pigeon]\nhoming = 1\n") ==
          "pigeon.toml:2:1: transport.pigeon.homing must be a boolean, not an integer");
    CHECK(error_in("[transport.pigeon]\nbirds = true\n") ==
          "pigeon.toml:2:1: transport.pigeon.birds must be an integer, not a boolean");
    CHECK(error_in("[transport.pigeon]\nbirds = 0\n") ==
          "pigeon.toml:2:1: transport.pigeon.birds must be at least 1, not 0");
    CHECK(error_in("[transport.pigeon]\nbird = 2\n") ==
          "pigeon.toml:2:1: unknown key \"bird\" in [transport.pigeon]; did you mean \"birds\"?");
    CHECK(error_in("[transport.unix]\nbirds = 2\n") ==
          "pigeon.toml:2:1: key \"birds\" does not apply to transport \"unix\" (it is a "
          "setting of pigeon)");
    CHECK(error_in("[transport.unix]\nsend_buffer = 2\n") == "parsed");
}

TEST_CASE("a config file that cannot be read is an error naming it", "[config]") {
    const std::filesystem::path missing = "/nonexistent/courier.toml";
    try {
        Config::load_file(missing, all_schemes());
        FAIL("loaded a missing file");
    } catch (const ConfigError& error) {
        CHECK(error.line() == 0);
        CHECK(std::string(error.what()).rfind("/nonexistent/courier.toml: cannot read", 0) == 0);
    }
}

TEST_CASE("COURIER_CONFIG names the file, and --config beats it", "[config]") {
    TempFile env_file("env", "[node]\nthreads = 3\n");
    TempFile flag_file("flag", "[node]\nthreads = 5\n");
    EnvGuard transport("COURIER_TRANSPORT", nullptr);

    {
        EnvGuard config_env("COURIER_CONFIG", nullptr);
        Config config = Config::from_environment({}, all_schemes());
        CHECK(config.source.empty());
        CHECK_FALSE(config.node.threads);
    }
    {
        EnvGuard config_env("COURIER_CONFIG", env_file.path().c_str());
        CHECK(Config::from_environment({}, all_schemes()).node.threads == 3u);
        Config flagged = Config::from_environment(flag_file.path(), all_schemes());
        CHECK(flagged.node.threads == 5u);
        CHECK(flagged.source == flag_file.path().string());
    }
    {
        EnvGuard config_env("COURIER_CONFIG", "/nonexistent/courier.toml");
        CHECK_THROWS_AS(Config::from_environment({}, all_schemes()), ConfigError);
    }
}

TEST_CASE("COURIER_TRANSPORT overrides rules and preference", "[config]") {
    TempFile file("override", "[[links.rule]]\nfrom = \"*\"\nto = \"*\"\ntransport = \"shm\"\n");
    EnvGuard config_env("COURIER_CONFIG", file.path().c_str());
    {
        EnvGuard transport("COURIER_TRANSPORT", "unix");
        Config config = Config::from_environment({}, all_schemes());
        CHECK(config.override_transport == "unix");
        auto selection = courier::choose(config, "a", "b", both, both, true);
        REQUIRE(selection);
        CHECK(selection->transport == "unix");
        CHECK(selection->reason == SelectionReason::override_transport);
        CHECK(selection->describe() == "override");
    }
    {
        EnvGuard transport("COURIER_TRANSPORT", "unx");
        try {
            Config::from_environment({}, all_schemes());
            FAIL("accepted an unknown COURIER_TRANSPORT");
        } catch (const ConfigError& error) {
            CHECK(std::string(error.what())
                      .rfind("COURIER_TRANSPORT: unknown transport \"unx\"; did you mean \"unix\"?",
                             0) == 0);
        }
    }
    {
        EnvGuard transport("COURIER_TRANSPORT", "");
        CHECK_FALSE(Config::from_environment({}, all_schemes()).override_transport);
    }
}

TEST_CASE("COURIER_TRANSPORT without fd passing is refused when a rule's links carry fds",
          "[config][fd]") {
    TempFile file("fds-override", "[[links.rule]]\nfrom = \"*\"\nto = \"*\"\nfds = true\n");
    EnvGuard config_env("COURIER_CONFIG", file.path().c_str());
    {
        EnvGuard transport("COURIER_TRANSPORT", "fifo");
        try {
            Config::from_environment({}, all_schemes());
            FAIL("accepted COURIER_TRANSPORT=fifo for links that carry fds");
        } catch (const ConfigError& error) {
            CHECK_THAT(std::string(error.what()),
                       Catch::StartsWith("COURIER_TRANSPORT: fifo cannot pass file descriptors, "
                                         "which the links of rule \"* -> *\" (") &&
                           Catch::EndsWith(":1) carry; use one that can (unix)"));
        }
    }
    {
        EnvGuard transport("COURIER_TRANSPORT", "unix");
        CHECK(Config::from_environment({}, all_schemes()).override_transport == "unix");
    }
}
