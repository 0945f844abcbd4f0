// Credit on one link (link_credit.hpp): what a sender may send, the outbox of what it may
// not yet, and what a receiver grants back as its actors take the peer's letters.

#include "link_credit.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

using courier::Credit;
using courier::CreditWindow;
using courier::detail::LinkCredit;
using namespace std::chrono_literals;

namespace {
LinkCredit::Held held(std::uint8_t priority, std::uint8_t tag, std::size_t size = 100) {
    LinkCredit::Held letter;
    letter.frame.assign(size, std::byte{tag});
    letter.priority = priority;
    return letter;
}
std::uint8_t tag_of(const LinkCredit::Held& letter) {
    return static_cast<std::uint8_t>(letter.frame.front());
}
}  // namespace

TEST_CASE("a sender may send what every link starts with, then keeps letters until a grant",
          "[framework][credit]") {
    LinkCredit credit;
    for (std::uint64_t i = 0; i < LinkCredit::initial.letters; ++i) REQUIRE(credit.take(100));
    CHECK_FALSE(credit.take(100));
    CHECK(credit.stats().credit == 0);

    CHECK_FALSE(credit.hold(held(0, 1)));  // no credit: nobody drains yet
    // Once a letter waits, the next waits behind it even when credit came.
    CHECK(credit.granted(Credit{LinkCredit::initial.letters + 2, std::uint64_t{1} << 30}));
    CHECK_FALSE(credit.take(100));
    CHECK(credit.hold(held(0, 2)));  // credit is there now: the caller drains
    std::vector<LinkCredit::Held> go;
    credit.sendable(go);
    REQUIRE(go.size() == 2);
    CHECK(tag_of(go[0]) == 1);
    CHECK(tag_of(go[1]) == 2);
    credit.drained();
    CHECK(credit.stats().outbox == 0);
    CHECK_FALSE(credit.take(100));  // both grants used
    CHECK(credit.granted(Credit{LinkCredit::initial.letters + 3, std::uint64_t{1} << 30}) == false);
    CHECK(credit.take(100));
}

TEST_CASE("the outbox lets an urgent letter overtake, in order within a priority",
          "[framework][credit]") {
    LinkCredit credit;
    while (credit.take(10)) {
    }
    for (int tag = 1; tag <= 3; ++tag) credit.hold(held(0, static_cast<std::uint8_t>(tag)));
    credit.hold(held(200, 4));
    credit.hold(held(7, 5));
    credit.hold(held(200, 6));
    credit.granted(Credit{LinkCredit::initial.letters + 4, std::uint64_t{1} << 30});
    std::vector<int> order;
    std::vector<LinkCredit::Held> go;
    credit.sendable(go);
    for (const auto& letter : go) order.push_back(tag_of(letter));
    CHECK(order == std::vector<int>{4, 6, 5, 1});  // four credits: the rest waits
    credit.drained();
    CHECK(credit.stats().outbox == 2);
    const auto left = credit.close();  // the link went: they come back to be bounced
    REQUIRE(left.size() == 2);
    CHECK(tag_of(left[0]) == 2);
    CHECK(tag_of(left[1]) == 3);
}

TEST_CASE("letters keep their order through an outbox that drains a few at a time",
          "[framework][credit]") {
    // The outbox takes its front by moving a mark and drops what was taken now and then:
    // letters held while others leave, and an urgent one among them, keep their places.
    LinkCredit credit;
    while (credit.take(10)) {
    }
    std::uint64_t granted = LinkCredit::initial.letters;
    std::vector<int> order;
    std::vector<LinkCredit::Held> go;
    int next = 1;
    for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < 7; ++i) credit.hold(held(0, static_cast<std::uint8_t>(next++)));
        if (round == 10) credit.hold(held(9, 250));  // overtakes those waiting, not those gone
        granted += 5;
        credit.granted(Credit{granted, std::uint64_t{1} << 40});
        credit.sendable(go);
        for (const auto& letter : go) order.push_back(tag_of(letter));
    }
    granted += 1000;
    credit.granted(Credit{granted, std::uint64_t{1} << 40});
    credit.sendable(go);
    for (const auto& letter : go) order.push_back(tag_of(letter));
    CHECK(credit.stats().outbox == 0);

    std::vector<int> expected;
    for (int tag = 1; tag < next; ++tag) expected.push_back(tag);
    // Round 10 sent 5 of its turn: the urgent letter went first among those then waiting.
    const auto urgent_at = std::find(order.begin(), order.end(), 250);
    REQUIRE(urgent_at != order.end());
    CHECK(urgent_at - order.begin() == 10 * 5);
    order.erase(urgent_at);
    CHECK(order == expected);
}

TEST_CASE("a letter that starts within the bytes granted may go, however large",
          "[framework][credit]") {
    LinkCredit credit;
    CHECK(credit.take(LinkCredit::initial.bytes - 1));
    CHECK(credit.take(std::size_t{64} << 20));  // starts at initial - 1
    CHECK_FALSE(credit.take(1));
}

TEST_CASE("a thread outside waits for credit until its timeout, or until a grant",
          "[framework][credit]") {
    LinkCredit credit;
    while (credit.take(10)) {
    }
    const auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(credit.wait(20ms));
    CHECK(std::chrono::steady_clock::now() - start >= 20ms);
    std::thread granter([&] {
        std::this_thread::sleep_for(10ms);
        credit.granted(Credit{LinkCredit::initial.letters + 1, std::uint64_t{1} << 30});
    });
    CHECK(credit.wait(10s));
    granter.join();
    CHECK(credit.stats().blocked_us >= 20'000);
}

TEST_CASE("a receiver grants credit back a quarter of its window at a time",
          "[framework][credit]") {
    LinkCredit credit;
    credit.set_window(CreditWindow{400, std::uint64_t{1} << 30});
    // The first grant raises what every link starts with to the window.
    auto first = credit.consumed(0, 0);
    REQUIRE(first);
    CHECK(first->letters == 400);
    CHECK(credit.room() == 400);
    credit.arrived(150);
    CHECK(credit.room() == 250);
    CHECK_FALSE(credit.consumed(99, 99 * 100));  // under a quarter
    auto next = credit.consumed(1, 100);
    REQUIRE(next);
    CHECK(next->letters == 100 + 400);
    CHECK(credit.room() == 350);
    CHECK(credit.stats().unreturned == 50);
    CHECK_FALSE(credit.peer_waits());
    credit.arrived(300);
    CHECK(credit.peer_waits());  // 50 left of 400: less than a quarter
}

TEST_CASE("a receiver grants credit back when a quarter of its bytes was taken",
          "[framework][credit]") {
    LinkCredit credit;
    constexpr std::uint64_t window = std::uint64_t{1} << 20;
    credit.set_window(CreditWindow{1000, window});
    REQUIRE(credit.consumed(0, 0));
    CHECK_FALSE(credit.consumed(1, window / 4 - 1));
    auto grant = credit.consumed(1, 1);
    REQUIRE(grant);
    CHECK(grant->bytes == window / 4 + window);
    CHECK(grant->letters == 2 + 1000);
}
