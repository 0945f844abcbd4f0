// The dead-letter log: a line a second for each (recipient, code) with a count, the count
// said when a window ends even if the burst stopped, and a bounded table of keys. Its
// windows are timers of a reactor whose clock the test moves by hand.

#include "dead_letter_log.hpp"

#include "support/log_capture.hpp"
#include "test_messages.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>

using namespace courier;
using namespace courier::detail;
using namespace std::chrono_literals;
using courier_test::LogCapture;

namespace {

Letter letter_to(const std::string& recipient) {
    Letter letter;
    letter.type = type_id_of<test::Ping>();
    letter.sender = "producer";
    letter.recipient = recipient;
    return letter;
}

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

std::size_t lines(const LogCapture& log) {
    return count_of(log.text(), "dead letter:");
}

const std::string no_consumer = "no actor named 'consumer' on this host";

}  // namespace

TEST_CASE("the first dead letter to a name is logged at once, the rest of the second as a count",
          "[framework][dead_letters]") {
    LogCapture log;
    Reactor timers(Reactor::Timers::by_hand);
    DeadLetterLog dead("node-a", timers);

    for (int i = 0; i < 41'231; ++i)
        dead.record(letter_to("consumer"), ErrorCode::unknown_name, no_consumer);
    CHECK(lines(log) == 1);
    CHECK_THAT(log.text(), Catch::Contains("node 'node-a': dead letter: test.Ping from "
                                           "'producer' to 'consumer': " +
                                           no_consumer));

    CHECK(timers.advance(999ms) == 0);  // the window is still open
    CHECK(lines(log) == 1);
    CHECK(timers.advance(1ms) == 1);
    CHECK(lines(log) == 2);
    CHECK_THAT(log.text(), Catch::Contains("... and 41,230 more like it to 'consumer' "
                                           "(unknown_name) in the last second"));

    // A window that counted some opened the next: a quiet one says nothing and closes.
    CHECK(timers.advance(1s) == 1);
    CHECK(lines(log) == 2);
    CHECK(timers.advance(10s) == 0);

    // Closed: the next dead letter is logged at once again.
    dead.record(letter_to("consumer"), ErrorCode::unknown_name, no_consumer);
    CHECK(lines(log) == 3);
    REQUIRE(dead.targets(5).size() == 1);
    CHECK(dead.targets(5).front().count == 41'232);
}

TEST_CASE("a steady stream of dead letters is logged once a second, each line counting its second",
          "[framework][dead_letters]") {
    LogCapture log;
    Reactor timers(Reactor::Timers::by_hand);
    DeadLetterLog dead("node-a", timers);

    // 10 s of 1000 letters every 100 ms: 100 windows' worth of letters, 11 lines.
    for (int tick = 0; tick < 100; ++tick) {
        for (int i = 0; i < 1000; ++i)
            dead.record(letter_to("consumer"), ErrorCode::unknown_name, no_consumer);
        timers.advance(100ms);
    }
    CHECK(lines(log) == 11);
    CHECK(count_of(log.text(), "... and 10,000 more like it") == 9);
    // The first second's line counts the 9,999 after the one logged at once.
    CHECK(count_of(log.text(), "... and 9,999 more like it") == 1);
}

TEST_CASE("each name and each reason has a window of its own", "[framework][dead_letters]") {
    LogCapture log;
    Reactor timers(Reactor::Timers::by_hand);
    DeadLetterLog dead("node-a", timers);

    for (int i = 0; i < 3; ++i) {
        dead.record(letter_to("a"), ErrorCode::unknown_name, "no a");
        dead.record(letter_to("b"), ErrorCode::unknown_name, "no b");
        dead.record(letter_to("b"), ErrorCode::link_failed, "b's link broke");
    }
    CHECK(lines(log) == 3);
    timers.advance(1s);
    CHECK(lines(log) == 6);
    CHECK_THAT(log.text(), Catch::Contains("2 more like it to 'a' (unknown_name)") &&
                               Catch::Contains("2 more like it to 'b' (unknown_name)") &&
                               Catch::Contains("2 more like it to 'b' (link_failed)"));
}

TEST_CASE("dead letters to more names than the table holds are counted together as other names",
          "[framework][dead_letters]") {
    LogCapture log;
    Reactor timers(Reactor::Timers::by_hand);
    DeadLetterLog dead("node-a", timers, /*max_keys=*/4);

    // A million distinct names a second would otherwise be a million lines.
    for (int round = 0; round < 3; ++round)
        for (int i = 0; i < 1000; ++i)
            dead.record(letter_to("name-" + std::to_string(i)), ErrorCode::unknown_name, "none");
    CHECK(lines(log) == 5);  // the 4 of the table, and the first of the others
    CHECK_THAT(log.text(), Catch::Contains("counted together as other names"));
    CHECK(dead.targets(10).size() == 4);

    timers.advance(1s);
    CHECK(lines(log) == 10);
    CHECK_THAT(log.text(), Catch::Contains("... and 2,987 more to other names in the last second"));
    CHECK_THAT(log.text(), Catch::Contains("... and 2 more like it to 'name-0' (unknown_name)"));

    // Windows that closed give their places to new names, least recently used first.
    timers.advance(1s);
    dead.record(letter_to("newcomer"), ErrorCode::unknown_name, "none");
    CHECK(lines(log) == 11);
    CHECK_THAT(log.text(), Catch::Contains("to 'newcomer': none"));
    const auto targets = dead.targets(10);
    REQUIRE(targets.size() == 4);
    CHECK(targets.back().recipient == "newcomer");
}

TEST_CASE("counts still unsaid are logged when the log goes", "[framework][dead_letters]") {
    LogCapture log;
    Reactor timers(Reactor::Timers::by_hand);
    {
        DeadLetterLog dead("node-a", timers);
        for (int i = 0; i < 8; ++i)
            dead.record(letter_to("consumer"), ErrorCode::unknown_name, no_consumer);
        CHECK(lines(log) == 1);
    }
    CHECK(lines(log) == 2);
    CHECK_THAT(log.text(), Catch::Contains("... and 7 more like it to 'consumer' (unknown_name) "
                                           "before it stopped"));
    CHECK(timers.advance(2s) == 0);  // its timer went with it
}
