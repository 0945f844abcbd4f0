// A mailbox's letter queue: one FIFO over many segments, from any number of sending
// threads to one reader, and who holds it (the reader, or the push that woke it).

#include "letter_queue.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <semaphore>
#include <stdexcept>
#include <thread>
#include <vector>

using courier::detail::Letter;
using courier::detail::LetterQueue;

namespace {

Letter numbered(std::uint64_t n) {
    Letter letter;
    letter.correlation = n;
    letter.sender = "a sender name too long for a short string";
    return letter;
}

/// A body that counts its destruction (not that of the husk a move leaves).
struct Watched final : courier::detail::Body {
    explicit Watched(int& gone) : gone_(gone) {}
    Watched(Watched&& other) noexcept : gone_(other.gone_) { other.moved_ = true; }
    ~Watched() override {
        if (!moved_) ++gone_;
    }
    bool is_local() const noexcept override { return true; }
    void encode(std::vector<std::byte>&, std::vector<int>&,
                courier::ExternalParts*) const override {}
    courier::detail::Body* relocate(void* storage) noexcept override {
        return move_to(*this, storage);
    }
    int& gone_;
    bool moved_ = false;
};

/// push_built with no limit in the way: true when it woke the queue.
template <class Fill>
bool push_built(LetterQueue& queue, Fill&& fill) {
    return queue.push_built(0, LetterQueue::Admit::always, std::forward<Fill>(fill)).woke;
}

}  // namespace

TEST_CASE("a letter queue gives its letters back in the order they came, over many segments",
          "[framework][mailbox]") {
    LetterQueue queue;
    constexpr std::uint64_t count = 5000;
    for (std::uint64_t i = 0; i < count; ++i) queue.push(numbered(i));
    CHECK_FALSE(queue.empty());
    for (std::uint64_t i = 0; i < count; ++i) {
        REQUIRE_FALSE(queue.empty());
        Letter* letter = queue.take();
        REQUIRE(letter != nullptr);
        REQUIRE(letter->correlation == i);
        CHECK(letter->sender == "a sender name too long for a short string");
    }
    CHECK(queue.empty());
    CHECK(queue.take() == nullptr);
}

TEST_CASE("letters pushed after the reader caught up are taken too, in order",
          "[framework][mailbox]") {
    LetterQueue queue;
    std::uint64_t pushed = 0, taken = 0;
    for (int round = 0; round < 100; ++round) {  // across segment ends, at every fill level
        for (int i = 0; i <= round; ++i) queue.push(numbered(pushed++));
        while (Letter* letter = queue.take()) REQUIRE(letter->correlation == taken++);
        REQUIRE(taken == pushed);
        CHECK(queue.empty());
        if (round % 3 == 0) {
            REQUIRE(queue.sleep());
            REQUIRE(queue.push(numbered(pushed++)).woke);  // wakes it: this caller holds it now
        }
    }
}

TEST_CASE("a new queue is held, and once asleep, exactly the next push wakes it",
          "[framework][mailbox]") {
    LetterQueue queue;
    CHECK_FALSE(queue.push(numbered(0)).woke);  // its creator holds it
    CHECK_FALSE(queue.sleep());                 // a letter waits: the holder keeps it
    REQUIRE(queue.take()->correlation == 0);
    REQUIRE(queue.sleep());
    CHECK(queue.push(numbered(1)).woke);  // this sender holds it now
    CHECK_FALSE(queue.push(numbered(2)).woke);
    CHECK_FALSE(push_built(queue, [](Letter& letter) { letter.correlation = 3; }));
    for (std::uint64_t n = 1; n <= 3; ++n) REQUIRE(queue.take()->correlation == n);
    REQUIRE(queue.sleep());
    CHECK(push_built(queue, [](Letter& letter) { letter.correlation = 4; }));  // wakes it too
    CHECK_FALSE(queue.push(numbered(5)).woke);
    REQUIRE(queue.take()->correlation == 4);
    REQUIRE(queue.take()->correlation == 5);
}

TEST_CASE(
    "a taken letter lives until the next letter is taken or the queue sleeps, and the queue "
    "destroys the rest",
    "[framework][mailbox]") {
    constexpr int per_segment = static_cast<int>(LetterQueue::segment_letters);
    int gone = 0;
    {
        LetterQueue queue;
        for (int i = 0; i < per_segment + 10; ++i) {
            Letter letter = numbered(static_cast<std::uint64_t>(i));
            letter.body.emplace<Watched>(gone);
            queue.push(std::move(letter));
        }
        Letter* first = queue.take();
        CHECK(first->body.get() != nullptr);
        CHECK(gone == 0);  // handled in place
        // Each take destroys the letters handled before it (a large one's memory goes
        // back while the mailbox still has letters), across the segment's end too.
        for (int i = 1; i < per_segment; ++i) {
            queue.take();
            CHECK(gone == i);
        }
        queue.take();  // the first of the next segment
        CHECK(gone == per_segment);
        queue.take();
        CHECK(gone == per_segment + 1);
        CHECK_FALSE(queue.sleep());  // eight letters left: it stays awake
        CHECK(gone == per_segment + 2);
        // Nothing is destroyed by a take that finds no letter: a sender may be writing
        // the next slot beside the last one taken.
        for (int i = 0; i < 8; ++i) queue.take();
        CHECK(gone == per_segment + 9);
        CHECK(queue.take() == nullptr);
        CHECK(gone == per_segment + 9);
    }
    CHECK(gone == per_segment + 10);
}

TEST_CASE("a queue that slept reuses its segment for the next letters", "[framework][mailbox]") {
    LetterQueue queue;
    queue.push(numbered(1));
    const Letter* first = queue.take();
    REQUIRE(queue.sleep());
    queue.push(numbered(2));
    const Letter* second = queue.take();
    REQUIRE(second != nullptr);
    CHECK(second->correlation == 2);
    CHECK(second == first);  // the same slot: nothing was allocated for it
}

TEST_CASE(
    "letters from many threads arrive whole, each sender's in order, and every sleep "
    "is woken",
    "[framework][mailbox]") {
    // Real threads push while the reader takes and sleeps; the push that wakes the reader
    // hands it the queue back (as a cell is scheduled again). A lost letter or a lost
    // wake-up leaves the reader waiting: the deadline fails the test instead of hanging.
    constexpr std::uint64_t senders = 4, per_sender = 50000;
    LetterQueue queue;
    std::binary_semaphore woken(0);
    std::atomic<std::uint64_t> wakes{0};
    std::vector<std::thread> threads;
    for (std::uint64_t s = 0; s < senders; ++s)
        threads.emplace_back([&, s] {
            for (std::uint64_t i = 0; i < per_sender; ++i) {
                bool woke;
                if (i % 3 == 1) {  // some letters are built in their slot
                    woke = push_built(queue,
                                      [&](Letter& letter) { letter.correlation = s << 32 | i; });
                } else {
                    woke = queue.push(numbered(s << 32 | i)).woke;
                }
                if (woke) {
                    wakes.fetch_add(1, std::memory_order_relaxed);
                    woken.release();
                }
            }
        });
    std::vector<std::uint64_t> next(senders, 0);
    std::uint64_t received = 0, sleeps = 0;
    bool lost = false;
    while (received < senders * per_sender) {
        while (Letter* letter = queue.take()) {
            const std::uint64_t s = letter->correlation >> 32, n = letter->correlation & 0xffffffff;
            REQUIRE(s < senders);
            REQUIRE(n == next[s]);
            ++next[s];
            ++received;
        }
        if (received == senders * per_sender) break;
        if (queue.sleep()) {
            ++sleeps;
            if (!woken.try_acquire_for(std::chrono::seconds(20))) {
                lost = true;
                break;
            }
        }
    }
    for (auto& thread : threads) thread.join();
    REQUIRE_FALSE(lost);
    CHECK(received == senders * per_sender);
    CHECK(wakes.load() == sleeps);
    CHECK(queue.empty());
}

TEST_CASE("segments the reader used up carry the senders' next letters", "[framework][mailbox]") {
    // A reader some segments behind gives them back, and the senders fill them again
    // instead of allocating new ones.
    constexpr std::size_t per_segment = LetterQueue::segment_letters;
    LetterQueue queue;
    std::vector<const Letter*> first_round;
    for (std::uint64_t i = 0; i < 3 * per_segment; ++i) queue.push(numbered(i));
    while (const Letter* letter = queue.take()) first_round.push_back(letter);
    REQUIRE(first_round.size() == 3 * per_segment);
    // The first two segments are spares now; the third is still the senders' (full).
    for (std::uint64_t i = 0; i < 2 * per_segment; ++i) queue.push(numbered(i));
    for (std::size_t i = 0; i < 2 * per_segment; ++i) {
        const Letter* letter = queue.take();
        REQUIRE(letter != nullptr);
        CHECK(std::find(first_round.begin(), first_round.begin() + 2 * per_segment, letter) !=
              first_round.begin() + 2 * per_segment);
    }
}

TEST_CASE("segments beyond a queue's own spares go to the process's stock, for any queue",
          "[framework][mailbox]") {
    // A mailbox that fell far behind and caught up leaves its segments to the next one
    // that grows, instead of returning them to malloc (and faulting pages in again).
    constexpr std::size_t per_segment = LetterQueue::segment_letters;
    std::vector<const Letter*> used;
    {
        LetterQueue behind;
        for (std::uint64_t i = 0; i < 12 * per_segment; ++i) behind.push(numbered(i));
        while (const Letter* letter = behind.take()) used.push_back(letter);
        REQUIRE(used.size() == 12 * per_segment);
    }
    // What the rest of the process allocates meanwhile does not get them (malloc would
    // have handed them to it).
    std::vector<std::unique_ptr<std::byte[]>> meanwhile;
    for (int i = 0; i < 16; ++i)
        meanwhile.push_back(std::make_unique<std::byte[]>(LetterQueue::segment_bytes()));
    LetterQueue growing;
    for (std::uint64_t i = 0; i < 6 * per_segment; ++i) growing.push(numbered(i));
    std::size_t reused = 0;
    for (std::uint64_t i = 0; i < 6 * per_segment; ++i) {
        const Letter* letter = growing.take();
        REQUIRE(letter != nullptr);
        CHECK(letter->correlation == i);
        if (std::find(used.begin(), used.end(), letter) != used.end()) ++reused;
    }
    // Every segment it added came from the stock (its first may have too).
    CHECK(reused >= 5 * per_segment);
}

TEST_CASE("a letter built in its slot is taken where it was built, in order with pushed ones",
          "[framework][mailbox]") {
    LetterQueue queue;
    REQUIRE(queue.sleep());
    const Letter* built = nullptr;
    CHECK(push_built(queue, [&](Letter& letter) {  // finds it asleep: wakes it
        letter.correlation = 0;
        built = &letter;
    }));
    CHECK_FALSE(queue.push(numbered(1)).woke);
    for (std::uint64_t i = 2; i < 2 * LetterQueue::segment_letters; ++i)
        CHECK_FALSE(push_built(queue, [&](Letter& letter) { letter.correlation = i; }));
    Letter* first = queue.take();
    REQUIRE(first != nullptr);
    CHECK(first == built);  // not moved on the way
    for (std::uint64_t i = 1; i < 2 * LetterQueue::segment_letters; ++i) {
        Letter* letter = queue.take();
        REQUIRE(letter != nullptr);
        CHECK(letter->correlation == i);
    }
    CHECK(queue.empty());
}

TEST_CASE("a letter whose building throws is not appended, and the queue goes on",
          "[framework][mailbox]") {
    int gone = 0;
    LetterQueue queue;
    REQUIRE(queue.sleep());
    // Thrown after the letter got a body: the body is destroyed, nothing is appended, and
    // the asleep queue stays asleep (the throwing sender does not hold it).
    CHECK_THROWS_AS(push_built(queue,
                               [&](Letter& letter) {
                                   letter.body.emplace<Watched>(gone);
                                   throw std::runtime_error("no room");
                               }),
                    std::runtime_error);
    CHECK(gone == 1);
    CHECK(queue.empty());
    CHECK(queue.push(numbered(7)).woke);  // the next push still finds it asleep
    Letter* letter = queue.take();
    REQUIRE(letter != nullptr);
    CHECK(letter->correlation == 7);
    CHECK(queue.take() == nullptr);
}

TEST_CASE("letters with a priority overtake those of lower priority, each priority in order",
          "[framework][mailbox]") {
    LetterQueue queue;
    REQUIRE(queue.sleep());
    const auto with_priority = [](std::uint64_t n, std::uint8_t priority) {
        Letter letter = numbered(n);
        letter.priority = priority;
        return letter;
    };
    CHECK(queue.push(numbered(0)).woke);
    CHECK_FALSE(queue.push(numbered(1)).woke);
    CHECK_FALSE(queue.push(with_priority(10, 5)).woke);
    CHECK_FALSE(queue.push(with_priority(11, 9)).woke);
    CHECK_FALSE(queue.push(with_priority(12, 5)).woke);
    CHECK_FALSE(queue.push(numbered(2)).woke);
    CHECK(queue.depth() == 6);
    std::vector<std::uint64_t> order;
    while (Letter* letter = queue.take()) order.push_back(letter->correlation);
    CHECK(order == std::vector<std::uint64_t>{11, 10, 12, 0, 1, 2});
    CHECK(queue.depth() == 0);
    REQUIRE(queue.sleep());
    // One with a priority alone wakes the queue, and keeps it awake.
    CHECK(queue.push(with_priority(20, 1)).woke);
    CHECK_FALSE(queue.empty());
    CHECK_FALSE(queue.sleep());
    Letter* urgent = queue.take();
    REQUIRE(urgent != nullptr);
    CHECK(urgent->correlation == 20);
    CHECK(queue.take() == nullptr);
    CHECK(queue.sleep());
}
