#include <courier/transports/buffer_pool.hpp>

#include <algorithm>
#include <bit>

namespace courier {

BufferPool::BufferPool(std::size_t budget, std::size_t largest, std::size_t per_thread,
                       std::size_t small)
    : small_(budget, per_thread), large_budget_(budget), largest_(largest), small_largest_(small) {
    if (largest_ <= small_largest_) return;  // every buffer kept is a small one
    const std::size_t classes = static_cast<std::size_t>(std::bit_width(largest_ / small_largest_));
    for (std::size_t i = 0; i < classes; ++i)
        large_.push_back(std::make_unique<Stock>(large_budget_));
}

BufferPool& BufferPool::frames() {
    // Never destroyed: letters may give buffers back while static objects are torn down.
    // The budget covers a backlog of ~100 k small frames (what courier-bench builds when
    // a receiving actor falls behind its reactor), and 16 large ones of a MiB: a fresh
    // buffer of a MiB costs hundreds of page faults to fill.
    static auto* pool =
        new BufferPool(std::size_t{16} << 20, std::size_t{4} << 20, 64, std::size_t{64} << 10);
    return *pool;
}

std::size_t BufferPool::large_class(std::size_t capacity) const noexcept {
    const auto i = static_cast<std::size_t>(std::bit_width(capacity / small_largest_)) - 1;
    return std::min(i, large_.size() - 1);
}

std::vector<std::byte> BufferPool::take_large(std::size_t i, std::size_t size) noexcept {
    std::vector<std::byte> buffer;
    if (i >= large_.size() || !large_[i]->take(buffer)) return {};
    if (buffer.capacity() < size) {  // too small for this frame: kept for a smaller one
        large_[i]->give(std::move(buffer));
        return {};
    }
    buffer.clear();
    return buffer;
}

std::vector<std::byte> BufferPool::take(std::size_t size) noexcept {
    if (size > small_largest_ && size <= largest_) {
        // Its own class holds buffers of at least half its size; the next class, buffers of
        // at least its size and under four times it.
        const std::size_t i = large_class(size);
        auto buffer = take_large(i, size);
        if (buffer.capacity() == 0) buffer = take_large(i + 1, size);
        return buffer;
    }
    std::vector<std::byte> buffer;
    if (size > largest_ || !small_.take(buffer)) return {};
    // A spare far larger than the frame would stay pinned under it as long as its letter
    // waits: it goes back, and the frame gets memory of its own size.
    constexpr std::size_t least = std::size_t{4} << 10;
    if (size != 0 && buffer.capacity() > 4 * std::max(size, least)) {
        small_.give(std::move(buffer));
        return {};
    }
    buffer.clear();
    return buffer;
}

void BufferPool::give(std::vector<std::byte> buffer) noexcept {
    const std::size_t capacity = buffer.capacity();
    if (capacity == 0 || capacity > largest_) return;
    if (capacity <= small_largest_) {
        small_.give(std::move(buffer));
    } else {
        large_[large_class(capacity)]->give(std::move(buffer));
    }
}

}  // namespace courier
