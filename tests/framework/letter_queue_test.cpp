// A mailbox's letter queue: one FIFO over many chunks, whose chunks go round between the
// senders' queue and the worker's when they swap.

#include "letter_queue.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>

using courier::Letter;
using courier::detail::LetterQueue;

namespace {

Letter numbered(std::uint64_t n) {
    Letter letter;
    letter.correlation = n;
    letter.sender = "a sender name too long for a short string";
    return letter;
}

/// A body that counts its destruction.
struct Watched final : courier::Body {
    explicit Watched(int& gone) : gone_(gone) {}
    ~Watched() override { ++gone_; }
    bool is_local() const noexcept override { return true; }
    void encode(std::vector<std::byte>&, std::vector<int>&) const override {}
    int& gone_;
};

}  // namespace

TEST_CASE("a letter queue gives its letters back in the order they came, over many chunks",
          "[framework][mailbox]") {
    LetterQueue queue;
    constexpr std::uint64_t count = 5000;  // many chunks, of every size
    for (std::uint64_t i = 0; i < count; ++i) queue.push(numbered(i));
    CHECK_FALSE(queue.empty());
    for (std::uint64_t i = 0; i < count; ++i) {
        REQUIRE(queue.remaining());
        Letter* letter = queue.take();
        REQUIRE(letter != nullptr);
        REQUIRE(letter->correlation == i);
        CHECK(letter->sender == "a sender name too long for a short string");
    }
    CHECK_FALSE(queue.remaining());
    CHECK(queue.take() == nullptr);
}

TEST_CASE("letters pushed after the reader caught up are taken too, in order",
          "[framework][mailbox]") {
    LetterQueue queue;
    std::uint64_t pushed = 0, taken = 0;
    for (int round = 0; round < 50; ++round) {  // across chunk ends, at every fill level
        for (int i = 0; i <= round; ++i) queue.push(numbered(pushed++));
        while (Letter* letter = queue.take()) REQUIRE(letter->correlation == taken++);
        REQUIRE(taken == pushed);
        CHECK_FALSE(queue.remaining());
    }
}

TEST_CASE("a swap hands every letter over and leaves the other side empty",
          "[framework][mailbox]") {
    LetterQueue senders, worker;
    for (std::uint64_t i = 0; i < 300; ++i) senders.push(numbered(i));
    worker.swap(senders);
    CHECK(senders.empty());
    CHECK_FALSE(senders.remaining());
    for (std::uint64_t i = 0; i < 300; ++i) REQUIRE(worker.take()->correlation == i);
    CHECK(worker.take() == nullptr);
}

TEST_CASE("clear destroys the letters, taken or not, and the queue takes new ones",
          "[framework][mailbox]") {
    int gone = 0;
    LetterQueue queue;
    for (int i = 0; i < 10; ++i) {
        Letter letter = numbered(static_cast<std::uint64_t>(i));
        letter.body = std::make_unique<Watched>(gone);
        queue.push(std::move(letter));
    }
    queue.take();
    queue.take();
    CHECK(gone == 0);  // taken letters live until the queue is cleared
    queue.clear();
    CHECK(gone == 10);
    CHECK(queue.empty());
    CHECK(queue.take() == nullptr);
    queue.push(numbered(42));
    REQUIRE(queue.take()->correlation == 42);
    queue.shrink();
    CHECK(queue.empty());
    queue.push(numbered(43));
    REQUIRE(queue.take()->correlation == 43);
}

TEST_CASE("the chunks a worker used up carry the senders' next letters", "[framework][mailbox]") {
    LetterQueue senders, worker;
    senders.push(numbered(1));
    worker.swap(senders);
    const Letter* first = worker.take();
    worker.clear();
    worker.swap(senders);  // the senders now have the worker's emptied chunk
    senders.push(numbered(2));
    worker.clear();
    worker.swap(senders);
    const Letter* second = worker.take();
    REQUIRE(second != nullptr);
    CHECK(second->correlation == 2);
    CHECK(second == first);  // the same storage: nothing was allocated for it
}
