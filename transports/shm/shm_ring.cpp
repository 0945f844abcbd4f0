#include "shm/shm_ring.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace courier::detail {

std::size_t shm_ring_capacity(std::size_t requested) {
    return std::bit_ceil(std::clamp(requested, shm_min_ring, shm_max_ring));
}

std::uint64_t ShmRing::free_space() const noexcept {
    const auto head = state_->head.load(std::memory_order_relaxed);  // ours
    const auto tail = state_->tail.load(std::memory_order_seq_cst);
    return capacity_ - (head - tail);
}

void ShmRing::write(std::span<const std::span<const std::byte>> parts, std::size_t size) noexcept {
    const auto head = state_->head.load(std::memory_order_relaxed);
    const std::uint64_t length = size;
    copy_in(head, reinterpret_cast<const std::byte*>(&length), sizeof(length));
    std::uint64_t at = head + shm_record_header;
    for (const auto part : parts) {
        if (!part.empty()) copy_in(at, part.data(), part.size());
        at += part.size();
    }
    state_->head.store(head + shm_record_size(size), std::memory_order_seq_cst);
}

bool ShmRing::readable() const noexcept {
    return state_->head.load(std::memory_order_seq_cst) != read_;
}

bool ShmRing::pending() const noexcept {
    return state_->head.load(std::memory_order_seq_cst) !=
           state_->tail.load(std::memory_order_relaxed);
}

std::uint64_t ShmRing::next_length() const noexcept {
    std::uint64_t length = 0;
    copy_out(read_, reinterpret_cast<std::byte*>(&length), sizeof(length));
    return length;
}

bool ShmRing::contiguous(std::uint64_t length) const noexcept {
    const std::size_t offset = read_ & (capacity_ - 1);
    return shm_record_header + length <= capacity_ - offset;
}

bool ShmRing::check(std::uint64_t position, std::size_t limit,
                    std::uint64_t& length) const noexcept {
    const auto head = state_->head.load(std::memory_order_acquire);
    copy_out(position, reinterpret_cast<std::byte*>(&length), sizeof(length));
    // The peer is another process: never trust what it wrote.
    return head - position <= capacity_ && length <= limit &&
           shm_record_size(length) <= head - position;
}

void ShmRing::advance(std::uint64_t to) noexcept {
    read_ = to;
    if (lent_ == 0) state_->tail.store(to, std::memory_order_seq_cst);
}

bool ShmRing::read(std::vector<std::byte>& out, std::size_t limit) {
    const auto at = read_;  // ours
    std::uint64_t length = 0;
    if (!check(at, limit, length)) return false;
    // Appended, not resized and overwritten: no zeroing of bytes about to be copied.
    out.clear();
    const std::size_t offset = (at + shm_record_header) & (capacity_ - 1);
    const std::size_t first = std::min<std::size_t>(length, capacity_ - offset);
    out.insert(out.end(), data_ + offset, data_ + offset + first);
    out.insert(out.end(), data_, data_ + (length - first));
    advance(at + shm_record_size(length));
    return true;
}

bool ShmRing::lend(std::span<const std::byte>& out, std::size_t limit) {
    const auto at = read_;
    std::uint64_t length = 0;
    if (!check(at, limit, length)) return false;
    out = {data_ + ((at + shm_record_header) & (capacity_ - 1)), static_cast<std::size_t>(length)};
    ++lent_;
    advance(at + shm_record_size(length));
    return true;
}

void ShmRing::release(std::span<const std::byte> lent) noexcept {
    if (--lent_ == 0) {
        state_->tail.store(read_, std::memory_order_seq_cst);
        return;
    }
    // The record's position is the one that has its offset in the ring, at most a ring's
    // length past tail: the records lent or read since tail span no more than the ring.
    const auto tail = state_->tail.load(std::memory_order_relaxed);  // ours
    const auto offset = static_cast<std::uint64_t>(lent.data() - data_) - shm_record_header;
    const std::uint64_t start = tail + ((offset - tail) & (capacity_ - 1));
    state_->tail.store(start + shm_record_size(lent.size()), std::memory_order_seq_cst);
}

void ShmRing::release_all() noexcept {
    if (lent_ == 0) return;
    lent_ = 0;
    state_->tail.store(read_, std::memory_order_seq_cst);
}

void ShmRing::copy_in(std::uint64_t position, const std::byte* from, std::size_t size) noexcept {
    const std::size_t offset = position & (capacity_ - 1);
    const std::size_t first = std::min(size, capacity_ - offset);
    std::memcpy(data_ + offset, from, first);
    if (first < size) std::memcpy(data_, from + first, size - first);
}

void ShmRing::copy_out(std::uint64_t position, std::byte* to, std::size_t size) const noexcept {
    const std::size_t offset = position & (capacity_ - 1);
    const std::size_t first = std::min(size, capacity_ - offset);
    std::memcpy(to, data_ + offset, first);
    if (first < size) std::memcpy(to + first, data_, size - first);
}

}  // namespace courier::detail
