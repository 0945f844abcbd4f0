#include <courier/transports/buffer_pool.hpp>

#include <algorithm>

namespace courier {

BufferPool::BufferPool(std::size_t budget, std::size_t largest, std::size_t per_thread,
                       std::size_t small)
    : small_(budget, per_thread), large_(budget), largest_(largest), small_largest_(small) {}

BufferPool& BufferPool::frames() {
    // Never destroyed: letters may give buffers back while static objects are torn down.
    // The budget covers a backlog of ~100 k small frames (what courier-bench builds when
    // a receiving actor falls behind its reactor), and 16 large ones of a MiB: a fresh
    // buffer of a MiB costs hundreds of page faults to fill.
    static auto* pool =
        new BufferPool(std::size_t{16} << 20, std::size_t{4} << 20, 64, std::size_t{64} << 10);
    return *pool;
}

std::vector<std::byte> BufferPool::take(std::size_t size) noexcept {
    std::vector<std::byte> buffer;
    auto& stock = size > small_largest_ ? large_ : small_;
    if (!stock.take(buffer)) return buffer;
    // A spare far larger than the frame would stay pinned under it as long as its letter
    // waits: it goes back, and the frame gets memory of its own size.
    constexpr std::size_t least = std::size_t{4} << 10;
    if (size != 0 && buffer.capacity() > 4 * std::max(size, least)) {
        stock.give(std::move(buffer));
        return {};
    }
    buffer.clear();
    return buffer;
}

void BufferPool::give(std::vector<std::byte> buffer) noexcept {
    const std::size_t capacity = buffer.capacity();
    if (capacity == 0 || capacity > largest_) return;
    (capacity > small_largest_ ? large_ : small_).give(std::move(buffer));
}

}  // namespace courier
