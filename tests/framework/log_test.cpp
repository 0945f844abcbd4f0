// courier's logger: `courier` in spdlog's registry, replaceable by the app's own, its level
// from NodeOptions::log_level or [node] log_level unless $COURIER_LOG_LEVEL or
// $SPDLOG_LEVEL chose one. docs/observability.md, "Logs".

#include "test_messages.hpp"

#include <courier/framework/actor.hpp>
#include <courier/framework/node.hpp>
#include <courier/log.hpp>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>

using namespace courier;

namespace {

NodeOptions alone(std::string level = "") {
    NodeOptions options;
    options.use_registry = false;
    options.handle_signals = false;
    options.log_level = std::move(level);
    return options;
}

/// Clears the level variables for one test and puts back the level it found.
class LevelScope {
  public:
    LevelScope() : level_(log().level()) {
        ::unsetenv("COURIER_LOG_LEVEL");
        ::unsetenv("SPDLOG_LEVEL");
    }
    ~LevelScope() {
        ::unsetenv("COURIER_LOG_LEVEL");
        ::unsetenv("SPDLOG_LEVEL");
        log().set_level(level_);
    }
    LevelScope(const LevelScope&) = delete;
    LevelScope& operator=(const LevelScope&) = delete;

  private:
    spdlog::level::level_enum level_;
};

/// What courier::log()'s level is in a new process whose environment is `variable=value`:
/// the level the logger was made with, as an app started that way sees it.
spdlog::level::level_enum fresh_process_level(const char* variable, const char* value) {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::unsetenv("COURIER_LOG_LEVEL");
        ::unsetenv("SPDLOG_LEVEL");
        ::setenv(variable, value, 1);
        spdlog::drop("courier");
        ::_exit(static_cast<int>(log().level()));
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    return static_cast<spdlog::level::level_enum>(WEXITSTATUS(status));
}

}  // namespace

TEST_CASE("courier logs through the logger named courier in the registry the app shares",
          "[framework][log]") {
    CHECK(spdlog::get("courier").get() == &log());
}

TEST_CASE("an app hands courier its own logger and a node's lines reach its sink",
          "[framework][log]") {
    auto before = spdlog::get("courier");
    std::ostringstream text;
    auto mine = std::make_shared<spdlog::logger>(
        "app", std::make_shared<spdlog::sinks::ostream_sink_mt>(text));
    set_logger(mine);
    {
        Node node(alone());
        (void)node.send("nobody", test::Ping{1});  // a dead letter: logged at once
        node.stop();
    }
    set_logger(before);
    CHECK_THAT(text.str(), Catch::Contains("dead letter") && Catch::Contains("'nobody'"));
}

TEST_CASE("NodeOptions log_level sets courier's level", "[framework][log]") {
    LevelScope scope;
    { Node node(alone("debug")); }
    CHECK(log().level() == spdlog::level::debug);
    { Node node(alone("error")); }
    CHECK(log().level() == spdlog::level::err);
    { Node node(alone()); }  // empty: left as it is
    CHECK(log().level() == spdlog::level::err);
}

TEST_CASE("the environment's level wins over the app's", "[framework][log]") {
    LevelScope scope;
    SECTION("COURIER_LOG_LEVEL") {
        ::setenv("COURIER_LOG_LEVEL", "warn", 1);
        ::setenv("SPDLOG_LEVEL", "trace", 1);
        Node node(alone("debug"));
        CHECK(log().level() == spdlog::level::warn);
    }
    SECTION("SPDLOG_LEVEL's entry for courier wins over its bare level") {
        ::setenv("SPDLOG_LEVEL", "info,app=trace,courier=critical", 1);
        Node node(alone("debug"));
        CHECK(log().level() == spdlog::level::critical);
    }
    SECTION("SPDLOG_LEVEL's bare level") {
        ::setenv("SPDLOG_LEVEL", "app=critical,trace", 1);
        Node node(alone("error"));
        CHECK(log().level() == spdlog::level::trace);
    }
    SECTION("a COURIER_LOG_LEVEL that names no level is ignored") {
        ::setenv("COURIER_LOG_LEVEL", "loud", 1);
        Node node(alone("debug"));
        CHECK(log().level() == spdlog::level::debug);
    }
}

TEST_CASE("a process started with a level in its environment logs at that level",
          "[framework][log]") {
    CHECK(fresh_process_level("SPDLOG_LEVEL", "debug") == spdlog::level::debug);
    CHECK(fresh_process_level("SPDLOG_LEVEL", "other=trace,courier=warn") == spdlog::level::warn);
    CHECK(fresh_process_level("COURIER_LOG_LEVEL", "error") == spdlog::level::err);
    CHECK(fresh_process_level("COURIER_LOG_LEVEL", "off") == spdlog::level::off);
}

TEST_CASE("a log level that names no level is a setup error", "[framework][log]") {
    LevelScope scope;
    log().set_level(spdlog::level::info);
    try {
        Node node(alone("loud"));
        FAIL("the node started");
    } catch (const SetupError& e) {
        CHECK(e.code() == ErrorCode::bad_config);
        CHECK_THAT(e.what(), Catch::Contains("unknown log level 'loud'"));
    }
    CHECK(log().level() == spdlog::level::info);
}
