// Who handles SIGTERM and SIGINT while nodes live (stop_signals.hpp): one handler for
// every node that has handle_signals on, the previous disposition back after the last,
// an ignored signal left ignored, and nothing touched by a node that has it off. No
// signal is sent here: the stop a signal makes is tested with real processes
// (tests/process/signal_test.cpp).

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <signal.h>

#include <memory>
#include <optional>
#include <string>

namespace {

courier::NodeOptions alone(std::string name, bool handle_signals = true) {
    courier::NodeOptions options;
    options.name = std::move(name);
    options.use_registry = false;
    options.threads = 1;
    options.handle_signals = handle_signals;
    return options;
}

extern "C" void test_handler(int) {}

using Handler = void (*)(int);

Handler handler_of(int signo) {
    struct sigaction current {};
    ::sigaction(signo, nullptr, &current);
    return current.sa_handler;
}

/// Sets `signo`'s handler for the test's length; puts back what was there after.
class Disposition {
  public:
    Disposition(int signo, Handler handler) : signo_(signo) {
        struct sigaction ours {};
        ours.sa_handler = handler;
        ::sigemptyset(&ours.sa_mask);
        ::sigaction(signo_, &ours, &saved_);
    }
    ~Disposition() { ::sigaction(signo_, &saved_, nullptr); }
    Disposition(const Disposition&) = delete;
    Disposition& operator=(const Disposition&) = delete;

  private:
    int signo_;
    struct sigaction saved_ {};
};

}  // namespace

TEST_CASE("nodes that handle signals share one handler, and the last one out restores the old",
          "[framework][signals]") {
    Disposition term(SIGTERM, test_handler);
    Disposition intr(SIGINT, test_handler);
    auto first = std::make_unique<courier::Node>(alone("signals-first"));
    const Handler ours = handler_of(SIGTERM);
    CHECK(ours != test_handler);
    CHECK(handler_of(SIGINT) == ours);
    {
        courier::Node second(alone("signals-second"));
        CHECK(handler_of(SIGTERM) == ours);
    }
    CHECK(handler_of(SIGTERM) == ours);  // the first node still lives
    first.reset();
    CHECK(handler_of(SIGTERM) == test_handler);
    CHECK(handler_of(SIGINT) == test_handler);

    // And again, from nothing.
    courier::Node again(alone("signals-again"));
    CHECK(handler_of(SIGTERM) == ours);
}

TEST_CASE("a node leaves an ignored signal ignored", "[framework][signals]") {
    Disposition intr(SIGINT, SIG_IGN);
    Disposition term(SIGTERM, SIG_DFL);
    {
        courier::Node node(alone("signals-ignored"));
        CHECK(handler_of(SIGINT) == SIG_IGN);
        CHECK(handler_of(SIGTERM) != SIG_DFL);
    }
    CHECK(handler_of(SIGINT) == SIG_IGN);
    CHECK(handler_of(SIGTERM) == SIG_DFL);
}

TEST_CASE("a node with handle_signals off leaves the signals alone", "[framework][signals]") {
    Disposition term(SIGTERM, test_handler);
    courier::Node node(alone("signals-off", /*handle_signals=*/false));
    CHECK(handler_of(SIGTERM) == test_handler);
}

TEST_CASE("the config's [node] handle_signals = false turns it off", "[framework][signals]") {
    Disposition term(SIGTERM, test_handler);
    auto options = alone("signals-config");
    options.config = courier::Config::parse("[node]\nhandle_signals = false\n", "test.toml");
    courier::Node node(options);
    CHECK(handler_of(SIGTERM) == test_handler);
}
