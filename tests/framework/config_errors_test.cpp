// What a config file that is wrong is told: the file, line, column and reason.
#include <courier/framework/config.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "config_support.hpp"

using namespace config_support;

TEST_CASE("a config error names the file, line, column and reason", "[config]") {
    SECTION("TOML syntax") {
        auto error = error_of("[links]\npreference = [\"unix\"\n");
        CHECK(error.source() == "test.toml");
        CHECK(error.line() >= 2);
        CHECK(std::string(error.what()).rfind("test.toml:", 0) == 0);
    }
    SECTION("unknown table, with a suggestion") {
        auto error = error_of("[links]\n[nod]\nthreads = 2\n");
        CHECK(error.line() == 2);
        CHECK(error.reason() == "unknown table \"nod\"; did you mean \"node\"?");
        CHECK(std::string(error.what()) ==
              "test.toml:2:2: unknown table \"nod\"; did you mean \"node\"?");
    }
    SECTION("unknown key, with a suggestion") {
        auto error = error_of("[node]\nthreads = 2\nthread = 4\n");
        CHECK(error.line() == 3);
        CHECK(error.column() == 1);
        CHECK(error.reason() == "unknown key \"thread\" in [node]; did you mean \"threads\"?");
    }
    SECTION("unknown key, nothing close") {
        auto error = error_of("[registry]\n\n  colour = \"blue\"\n");
        CHECK(error.line() == 3);
        CHECK(error.column() == 3);
        CHECK(error.reason() == "unknown key \"colour\" in [registry]");
    }
    SECTION("wrong type") {
        auto error = error_of("[node]\nthreads = \"2\"\n");
        CHECK(error.line() == 2);
        CHECK(error.reason() == "node.threads must be an integer, not a string");
    }
    SECTION("a CPU budget that is no number, or none") {
        auto word = error_of("[node]\ncpus = \"two\"\n");
        CHECK(word.line() == 2);
        CHECK(word.reason() == "node.cpus must be a number, not a string");
        CHECK(error_of("[node]\ncpus = -1.5\n").reason() ==
              "node.cpus must be 0 (what the system allows) or more");
    }
    SECTION("a number where a boolean is needed") {
        auto error = error_of("[node]\nhandle_signals = 0\n");
        CHECK(error.line() == 2);
        CHECK(error.reason() == "node.handle_signals must be true or false, not an integer");
    }
    SECTION("a failure policy that does not exist") {
        auto error = error_of("[node]\nactor_failure = \"retry\"\n");
        CHECK(error.line() == 2);
        CHECK(error.reason() ==
              "node.actor_failure must be resume, restart, stop or escalate, not \"retry\"");
    }
    SECTION("an overflow policy that does not exist") {
        auto error = error_of("[node]\nmailbox_overflow = \"drop_middle\"\n");
        CHECK(error.line() == 2);
        CHECK(error.reason() ==
              "node.mailbox_overflow must be block, fail, drop_newest or drop_oldest, not "
              "\"drop_middle\"");
    }
    SECTION("a mailbox that holds nothing") {
        auto error = error_of("[node]\nmailbox_letters = 0\n");
        CHECK(error.line() == 2);
        CHECK(error.reason() == "node.mailbox_letters must be at least 1, not 0");
    }
    SECTION("negative size") {
        auto error = error_of("[transport.unix]\n\nsend_buffer = -1\n");
        CHECK(error.line() == 3);
        CHECK(error.reason() == "transport.unix.send_buffer must be 0 or more, not -1");
    }
    SECTION("zero where a positive size is needed") {
        auto error = error_of("[transport.shm]\nring_size = 0\n");
        CHECK(error.line() == 2);
        CHECK(error.reason() == "transport.shm.ring_size must be at least 1, not 0");
    }
    SECTION("a setting of another transport") {
        auto error = error_of("[transport.unix]\nring_size = 4096\n");
        CHECK(error.line() == 2);
        CHECK(error.reason() ==
              "key \"ring_size\" does not apply to transport \"unix\" (it is a setting of shm)");
    }
    SECTION("a setting two other transports declare") {
        auto error = error_of("[transport.shm]\nsend_buffer = 4096\n");
        CHECK(error.reason() ==
              "key \"send_buffer\" does not apply to transport \"shm\" (it is "
              "a setting of unix, tcp)");
    }
    SECTION("a transport setting of the wrong type") {
        auto error = error_of("[transport.shm]\n\nspin_us = 1.5\n");
        CHECK(error.line() == 3);
        CHECK(error.reason() == "transport.shm.spin_us must be an integer, not a float");
    }
    SECTION("a generic setting below its minimum") {
        auto error = error_of("[transport.fifo]\nmax_frame_size = 0\n");
        CHECK(error.reason() == "transport.fifo.max_frame_size must be at least 1, not 0");
        // 1 PiB: a peer could make the node try to hold a frame that large.
        auto huge = error_of("[transport.fifo]\nmax_frame_size = 1125899906842624\n");
        CHECK(huge.line() == 2);
        CHECK_THAT(huge.reason(),
                   Catch::StartsWith("transport.fifo.max_frame_size is 1125899906842624 bytes, "
                                     "more than this machine's memory ("));
    }
    SECTION("unknown transport setting") {
        auto error = error_of("[transport.tcp]\nsend_bufer = 1\n");
        CHECK(error.reason() ==
              "unknown key \"send_bufer\" in [transport.tcp]; did you mean \"send_buffer\"?");
    }
    SECTION("unknown transport in the preference list points at the element") {
        auto error = error_of("[links]\npreference = [\"unix\",\n  \"shmm\"]\n");
        CHECK(error.line() == 3);
        CHECK(error.column() == 3);
        CHECK(error.reason() ==
              "unknown transport \"shmm\"; did you mean \"shm\"? (available: shm, posixmq, "
              "sysv, pipe, fifo, unix, tcp)");
    }
    SECTION("a transport this build lacks") {
        auto error = error_of("[links]\npreference = [\"shm\", \"unix\"]\n", {"unix"});
        CHECK(error.line() == 2);
        CHECK(error.reason() ==
              "transport \"shm\" is not available in this build (available: unix)");
    }
    SECTION("a typo of a transport this build lacks still gets a suggestion") {
        auto error = error_of("[links]\npreference = [\"shmm\"]\n", {"unix", "tcp"});
        CHECK(error.reason() ==
              "unknown transport \"shmm\"; did you mean \"shm\"? (available: unix, tcp)");
    }
    SECTION("unknown transport table") {
        auto error = error_of("[transport.pipes]\nmax_frame_size = 1\n");
        CHECK(error.line() == 1);
        CHECK(error.reason().rfind("unknown transport \"pipes\"", 0) == 0);
    }
    SECTION("a transport named twice") {
        auto error = error_of("[links]\npreference = [\"unix\", \"tcp\", \"unix\"]\n");
        CHECK(error.reason() == "transport \"unix\" appears twice in links.preference");
    }
    SECTION("an empty preference list") {
        auto error = error_of("[links]\npreference = []\n");
        CHECK(error.reason() == "links.preference must name at least one transport");
    }
    SECTION("a rule with an unknown transport") {
        auto error =
            error_of("[[links.rule]]\nfrom = \"a\"\nto = \"b\"\ntransport = \"carrier-pigeon\"\n");
        CHECK(error.line() == 4);
        CHECK(error.reason().rfind("unknown transport \"carrier-pigeon\"", 0) == 0);
    }
    SECTION("a rule without a transport") {
        auto error = error_of("\n[[links.rule]]\nfrom = \"a\"\nto = \"b\"\n");
        CHECK(error.line() == 2);
        CHECK(error.reason() ==
              "[[links.rule]] lacks \"transport\"; a rule needs from, to and transport (or "
              "fds = true)");
    }
    SECTION("a rule with an unknown key") {
        auto error = error_of("[[links.rule]]\nfrom = \"a\"\ntoo = \"b\"\ntransport = \"unix\"\n");
        CHECK(error.line() == 3);
        CHECK(error.reason() == "unknown key \"too\" in [[links.rule]]; did you mean \"to\"?");
    }
    SECTION("rules that are not tables") {
        auto error = error_of("[links]\nrule = \"a -> b\"\n");
        CHECK(error.line() == 2);
        CHECK(error.reason().rfind("links.rule must be an array of tables", 0) == 0);
    }
    SECTION("a section that is a value") {
        auto error = error_of("node = 3\n");
        CHECK(error.line() == 1);
        CHECK(error.reason() == "[node] must be a table, not an integer");
    }
}

// Found by fuzzing Config::parse (tests/fuzz/regressions/config_fuzz/): with toml++ 3.3
// compiled without NDEBUG, "[" then a newline aborted in an assertion of its parser, and
// bytes c7 b0 (U+01F0 outside a string) reached an "unreachable" of it in any build, also
// where a quote in a number or in nested arrays seemed to begin a string
// (framework/src/toml_guard.hpp).
TEST_CASE("the federation's keys are read and checked where they are written", "[config]") {
    auto config = courier::Config::parse(
        "[registry]\nhost = \"alpha\"\nlisten = \"tcp://10.0.0.1:7100\"\n"
        "peers = [\"tcp://10.0.0.2:7100\", \"tcp://10.0.0.3:7100\"]\n"
        "heartbeat_ms = 200\nhost_down_ms = 900\nredial_ms = 250\n",
        "test.toml");
    CHECK(config.registry.host == "alpha");
    CHECK(config.registry.listen == "tcp://10.0.0.1:7100");
    CHECK(config.registry.peers ==
          std::vector<std::string>{"tcp://10.0.0.2:7100", "tcp://10.0.0.3:7100"});
    CHECK(config.registry.heartbeat == std::chrono::milliseconds(200));
    CHECK(config.registry.host_down == std::chrono::milliseconds(900));
    CHECK(config.registry.redial == std::chrono::milliseconds(250));

    auto error = error_of("[registry]\nhost = \"a@b\"\n");
    CHECK(error.line() == 2);
    CHECK_THAT(error.reason(), Catch::Contains("no '@'"));
    error = error_of("[registry]\nlisten = \"unix:/tmp/x.sock\"\n");
    CHECK(error.reason() ==
          "registry.listen: \"unix:/tmp/x.sock\" is not of a transport that crosses hosts");
    error = error_of("[registry]\npeers = [\"tcp://10.0.0.2:7100\", 7]\n");
    CHECK_THAT(error.reason(), Catch::Contains("registry.peers must hold endpoints"));
    error = error_of("[registry]\npeers = \"tcp://10.0.0.2:7100\"\n");
    CHECK(error.reason() == "registry.peers must be an array of endpoints");
    error = error_of("[registry]\nredial_ms = 0\n");
    CHECK(error.reason() == "registry.redial_ms must be at least 1, not 0");
    error = error_of("[registry]\nheartbeat_ms = 0\n");
    CHECK(error.reason() == "registry.heartbeat_ms must be at least 1, not 0");
}

TEST_CASE("the etcd mode's keys are read and checked where they are written", "[config]") {
    auto config = courier::Config::parse(
        "[registry]\nhost = \"alpha\"\nmode = \"etcd\"\n"
        "etcd = [\"http://10.0.0.5:2379\", \"http://10.0.0.6:2379\"]\n"
        "etcd_prefix = \"/courier/test\"\n",
        "test.toml");
    CHECK(config.registry.mode == "etcd");
    CHECK(config.registry.etcd ==
          std::vector<std::string>{"http://10.0.0.5:2379", "http://10.0.0.6:2379"});
    CHECK(config.registry.etcd_prefix == "/courier/test");
    CHECK(courier::Config::parse("[registry]\n", "test.toml").registry.mode == "static");

    auto error = error_of("[registry]\nmode = \"consul\"\n");
    CHECK(error.line() == 2);
    CHECK(error.reason() == "registry.mode must be \"static\" or \"etcd\", not \"consul\"");
    error = error_of("[registry]\nmode = \"etcd\"\n");
    CHECK(error.reason() == "registry.mode = \"etcd\" needs registry.etcd, its endpoints");
    error = error_of("[registry]\netcd = [\"http://10.0.0.5:2379\"]\n");
    CHECK(error.reason() == "registry.etcd is for registry.mode = \"etcd\"");
    error = error_of(
        "[registry]\nmode = \"etcd\"\netcd = [\"http://e:2379\"]\npeers = "
        "[\"tcp://10.0.0.2:7100\"]\n");
    CHECK_THAT(error.reason(), Catch::Contains("registry.peers is for the static mode"));
    error = error_of("[registry]\nmode = \"etcd\"\netcd = [\"https://e:2379\"]\n");
    CHECK(error.line() == 3);
    CHECK_THAT(error.reason(), Catch::Contains("not \"https://e:2379\""));
    error = error_of("[registry]\nmode = \"etcd\"\netcd = [\"http://e\"]\n");
    CHECK_THAT(error.reason(), Catch::Contains("registry.etcd must hold endpoints"));
    error = error_of("[registry]\netcd_prefix = \"courier/\"\n");
    CHECK_THAT(error.reason(), Catch::Contains("must start with '/'"));
}

TEST_CASE("the programs a host offers other hosts are read and checked where they are written",
          "[config]") {
    auto config = courier::Config::parse(
        "[registry]\nhost = \"beta\"\n"
        "[registry.placeable.worker]\nargv = [\"/usr/lib/app/worker\", \"--pool\"]\n"
        "extra_args = true\n"
        "[registry.placeable.report]\nargv = [\"/usr/lib/app/report\"]\n",
        "test.toml");
    REQUIRE(config.registry.placeable.size() == 2);
    CHECK(config.registry.placeable.at("worker").argv ==
          std::vector<std::string>{"/usr/lib/app/worker", "--pool"});
    CHECK(config.registry.placeable.at("worker").extra_args);
    CHECK_FALSE(config.registry.placeable.at("report").extra_args);

    auto error = error_of("[registry.placeable.worker]\nextra_args = true\n");
    CHECK(error.line() == 1);
    CHECK(error.reason() == "registry.placeable.worker needs argv, the program to start");
    error = error_of("[registry.placeable.worker]\nargv = []\n");
    CHECK(error.line() == 2);
    CHECK_THAT(error.reason(), Catch::Contains("registry.placeable.worker.argv must be an array"));
    error = error_of("[registry.placeable.worker]\nargv = [\"\"]\n");
    CHECK(error.reason() == "registry.placeable.worker.argv must start with the program's path");
    error = error_of("[registry.placeable.worker]\nargv = [\"/w\", 3]\n");
    CHECK(error.reason() == "registry.placeable.worker.argv must hold strings, not an integer");
    error = error_of("[registry.placeable.worker]\nargv = [\"/w\"]\nextra_arg = true\n");
    CHECK(error.line() == 3);
    CHECK_THAT(error.reason(),
               Catch::Contains("unknown key \"extra_arg\" in [registry.placeable.worker]") &&
                   Catch::Contains("extra_args"));
    error = error_of("[registry]\nplaceable = 1\n");
    CHECK(error.reason() == "[registry.placeable] must be a table, not an integer");
}

TEST_CASE("bytes toml++ cannot read are a config error, not an abort", "[config]") {
    SECTION("[ then a newline") {
        auto error = error_of("[\n");
        CHECK(error.source() == "test.toml");
        CHECK(error.line() == 1);
    }
    SECTION("bytes c7 b0") {
        auto error = error_of("\xc7\xb0");
        CHECK(error.line() == 1);
        CHECK(error.column() == 1);
        CHECK(error.reason() ==
              "a non-ASCII character outside a string or comment (TOML allows them only there)");
    }
    SECTION("a non-ASCII key, placed") {
        auto error = error_of("[node]\n  \xc3\xa9t\xc3\xa9 = 1\n");
        CHECK(error.line() == 2);
        CHECK(error.column() == 3);
    }
    SECTION("a quote inside a number begins no string") {
        // toml++ reads a bare value up to a blank, ',', ']', '}', '#' or a line break.
        auto error = error_of("[node]\nthreads = 65.000\"\xc7\xb0\"\n");
        CHECK(error.line() == 2);
        CHECK(error.column() == 18);
        CHECK(error.reason() ==
              "a non-ASCII character outside a string or comment (TOML allows them only there)");
    }
    SECTION("a non-ASCII character first after a line-ending backslash") {
        auto error = error_of("[node]\nruntime_dir = \"\"\"/tmp/\\\n   \xc2\xa7\"\"\"\n");
        CHECK(error.line() == 3);
        CHECK(error.column() == 4);
        CHECK(error.reason() ==
              "a non-ASCII character first after a line-ending backslash: write it as an "
              "escape (\\uXXXX)");
    }
}

TEST_CASE("non-ASCII text in strings and comments is read", "[config]") {
    const Config config = parse(
        "\xef\xbb\xbf# caf\xc3\xa9\n"
        "[node] # \xc2\xa7\n"
        "runtime_dir = \"/tmp/caf\xc3\xa9 \\\"\xc2\xa7\\\"\"\n"
        "[[links.rule]]\n"
        "from = '\xc3\xa9*'\n"
        "to = '''\xc2\xa7'''\n"
        "transport = \"\"\"\\\n  unix\"\"\"\n");
    CHECK(config.node.runtime_dir == "/tmp/caf\xc3\xa9 \"\xc2\xa7\"");
    REQUIRE(config.rules.size() == 1);
    CHECK(config.rules[0].from == "\xc3\xa9*");
    CHECK(config.rules[0].to == "\xc2\xa7");
    CHECK(config.rules[0].transport == "unix");
}
