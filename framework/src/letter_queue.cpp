#include "letter_queue.hpp"

#include "block_pool.hpp"

#include <cassert>
#include <new>

namespace courier::detail {

namespace {
/// Spare segments of every queue of the process: up to 8 MiB, each thread keeping a few
/// of its own. Never destroyed: queues of static objects may give segments back late.
BlockPool& segment_stock(std::size_t segment_bytes) {
    static auto* stock = new BlockPool(segment_bytes, (std::size_t{8} << 20) / segment_bytes, 8);
    return *stock;
}
}  // namespace

std::size_t LetterQueue::segment_bytes() noexcept {
    return sizeof(Segment);
}

LetterQueue::Segment* LetterQueue::new_segment() {
    static_assert(alignof(Segment) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    return ::new (segment_stock(sizeof(Segment)).take()) Segment;
}

void LetterQueue::delete_segment(Segment* segment) noexcept {
    if (!segment) return;
    std::destroy_at(segment);
    segment_stock(sizeof(Segment)).give(segment);
}

LetterQueue::LetterQueue() {
    senders_.tail = reader_.head = new_segment();
}

LetterQueue::~LetterQueue() {
    while (take() != nullptr) {
    }
    drop_taken();
    for (Segment* segment = reader_.head; segment;)
        delete_segment(std::exchange(segment, segment->next.load(std::memory_order_relaxed)));
    for (auto& spare : spares_) delete_segment(spare.load(std::memory_order_relaxed));
}

void LetterQueue::add_segment() {
    // The reader's spare if it left one (the acquire sees its slots cleared), else a new
    // one: only while the reader is a segment or more behind.
    Segment* segment = nullptr;
    for (auto& spare : spares_) {
        if (spare.load(std::memory_order_relaxed) &&
            (segment = spare.exchange(nullptr, std::memory_order_acquire)))
            break;
    }
    if (!segment) segment = new_segment();
    senders_.tail->next.store(segment, std::memory_order_release);
    senders_.tail = segment;
    senders_.count = 0;
}

void LetterQueue::retire(Segment* segment) noexcept {
    // Its letters were destroyed and its flags cleared (drop_taken).
    segment->next.store(nullptr, std::memory_order_relaxed);
    for (auto& spare : spares_) {
        Segment* empty = nullptr;
        if (spare.compare_exchange_strong(empty, segment, std::memory_order_release,
                                          std::memory_order_relaxed))
            return;
    }
    delete_segment(segment);
}

void LetterQueue::append_urgent(Letter&& letter) {
    if (!lanes_) lanes_ = std::make_unique<decltype(lanes_)::element_type>();
    counted(letter.bytes);
    (*lanes_)[letter.priority].push_back(std::move(letter));
    urgent_.fetch_add(1, std::memory_order_release);
}

Letter* LetterQueue::take_urgent() noexcept {
    std::optional<Letter> done = std::exchange(urgent_taken_, std::nullopt);  // handled
    {
        std::lock_guard lock(senders_.lock);
        auto lane = lanes_->begin();  // urgent_ != 0: a lane holds a letter
        urgent_taken_.emplace(std::move(lane->second.front()));
        lane->second.pop_front();
        if (lane->second.empty()) lanes_->erase(lane);
        urgent_.fetch_sub(1, std::memory_order_release);
    }
    count_taken(*urgent_taken_);
    return &*urgent_taken_;
}

bool LetterQueue::sleep() noexcept {
    drop_taken();  // outside the senders' lock: a body's destructor may take a while
    urgent_taken_.reset();
    // A reader that keeps up finds the queue empty while a sender is writing the next
    // letter, under the lock. Taking the lock then would stall that sender and pull its
    // lock's line away from it; a short wait for the letter costs less.
    constexpr int letter_wait = 16;  // about 0.4 us on the development VM
    for (int i = 0; i < letter_wait && empty(); ++i) cpu_relax();
    if (!empty()) return false;
    std::lock_guard lock(senders_.lock);
    if (!empty()) return false;
    // Every letter pushed has been taken, so both sides are at the same place in the same
    // segment: start it over, and the next letters reuse its cache lines.
    assert(reader_.head == senders_.tail && reader_.next == senders_.count);
    reader_.next = reader_.dropped = senders_.count = 0;
    senders_.asleep = true;
    return true;
}

}  // namespace courier::detail
