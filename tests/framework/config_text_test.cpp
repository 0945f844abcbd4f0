// A config as TOML text (config_text.hpp): what a parent node hands its children in
// COURIER_CONFIG_TOML reads back as the same config, and from_environment takes it
// before COURIER_CONFIG.

#include "config_text.hpp"
#include "config_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace config_support;

TEST_CASE("a config written as TOML reads back the same", "[config]") {
    const Config original = parse(R"(
[links]
preference = ["unix", "fifo", "tcp"]
[[links.rule]]
from = "sensor-*"
to = "logger"
transport = "fifo"
[[links.rule]]
from = "supervisor"
to = "worker-*"
fds = true
[node]
cpus = 1
threads = 3
worker_spin_us = 7
runtime_dir = "/tmp/somewhere"
[registry]
autostart = false
idle_exit_ms = 1234
timeout_ms = 987
host = "alpha"
redial_ms = 300
mode = "etcd"
etcd = ["http://10.0.0.5:2379"]
etcd_prefix = "/c"
[registry.placeable.worker]
argv = ["/usr/lib/app/worker", "--pool", "w"]
extra_args = true
[registry.placeable.report]
argv = ["/usr/lib/app/report"]
[transport.unix]
send_buffer = 65536
[transport.fifo]
pipe_buffer = 131072
)");
    const Config copy = Config::parse(courier::detail::to_toml(original), "copy", all_schemes());
    CHECK(copy.preference == original.preference);
    REQUIRE(copy.rules.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(copy.rules[i].from == original.rules[i].from);
        CHECK(copy.rules[i].to == original.rules[i].to);
        CHECK(copy.rules[i].transport == original.rules[i].transport);
        CHECK(copy.rules[i].fds == original.rules[i].fds);
    }
    CHECK(copy.node.cpus == 1.0);
    CHECK(copy.node.threads == original.node.threads);
    CHECK(copy.node.worker_spin == original.node.worker_spin);
    CHECK(copy.node.runtime_dir == original.node.runtime_dir);
    CHECK(copy.registry.autostart == original.registry.autostart);
    CHECK(copy.registry.idle_exit == original.registry.idle_exit);
    CHECK(copy.registry.timeout == original.registry.timeout);
    CHECK(copy.registry.host == "alpha");
    CHECK(copy.registry.mode == "etcd");
    CHECK(copy.registry.redial == std::chrono::milliseconds(300));
    CHECK(copy.registry.etcd == original.registry.etcd);
    CHECK(copy.registry.etcd_prefix == "/c");
    REQUIRE(copy.registry.placeable.size() == 2);
    for (const auto& [name, program] : original.registry.placeable) {
        CHECK(copy.registry.placeable.at(name).argv == program.argv);
        CHECK(copy.registry.placeable.at(name).extra_args == program.extra_args);
    }
    CHECK(copy.registry.placeable.at("worker").extra_args);
    CHECK(copy.transports == original.transports);
}

TEST_CASE("a listen address is written too and a child inherits only one the kernel picks",
          "[config]") {
    const Config original = Config::parse(
        "[transport.tcp]\nlisten = \"10.0.0.2:0\"\n[transport.unix]\nlisten = \"/run/a.sock\"\n",
        "original", all_schemes());
    const Config copy = Config::parse(courier::detail::to_toml(original), "copy", all_schemes());
    CHECK(copy.transports == original.transports);
    const Config child =
        Config::parse(courier::detail::inherited_toml(original), "child", all_schemes());
    CHECK(child.settings("tcp").listen == "10.0.0.2:0");
    CHECK_FALSE(child.settings("unix").listen);
    const Config fixed =
        Config::parse(courier::detail::inherited_toml(Config::parse(
                          "[transport.tcp]\nlisten = \"10.0.0.2:7000\"\n", "f", all_schemes())),
                      "child", all_schemes());
    CHECK_FALSE(fixed.settings("tcp").listen);
}

TEST_CASE("the defaults written as TOML read back as the defaults", "[config]") {
    const Config copy = Config::parse(courier::detail::to_toml(Config::defaults(all_schemes())),
                                      "copy", all_schemes());
    CHECK(copy.preference == Config::defaults(all_schemes()).preference);
    CHECK(copy.rules.empty());
    CHECK_FALSE(copy.node.threads);
    CHECK_FALSE(copy.registry.autostart);
    CHECK(copy.transports.empty());
}

TEST_CASE("COURIER_CONFIG_TOML, a parent's config, comes before COURIER_CONFIG and after --config",
          "[config]") {
    TempFile env_file("env", "[node]\nthreads = 3\n");
    TempFile flag_file("flag", "[node]\nthreads = 5\n");
    EnvGuard transport("COURIER_TRANSPORT", nullptr);
    EnvGuard config_env("COURIER_CONFIG", env_file.path().c_str());
    {
        EnvGuard text("COURIER_CONFIG_TOML", "[node]\nthreads = 4\n");
        CHECK(Config::from_environment({}, all_schemes()).node.threads == 4u);
        CHECK(Config::from_environment(flag_file.path(), all_schemes()).node.threads == 5u);
    }
    {
        EnvGuard text("COURIER_CONFIG_TOML", "");  // empty: unset
        CHECK(Config::from_environment({}, all_schemes()).node.threads == 3u);
    }
    {
        EnvGuard text("COURIER_CONFIG_TOML", "[node]\nthreads = \"many\"\n");
        CHECK_THROWS_AS(Config::from_environment({}, all_schemes()), ConfigError);
    }
}
