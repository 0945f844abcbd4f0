#include <courier/transports/buffer_pool.hpp>

namespace courier {

BufferPool::BufferPool(std::size_t budget, std::size_t largest, std::size_t per_thread,
                       std::size_t per_thread_largest)
    : spares_(budget, per_thread, per_thread_largest), largest_(largest) {}

BufferPool& BufferPool::frames() {
    // Never destroyed: letters may give buffers back while static objects are torn down.
    // The budget covers a backlog of ~100 k small frames (what courier-bench builds when
    // a receiving actor falls behind its reactor), 4 k frames of 4 KiB or a few large
    // reassembled ones: a fresh buffer of a MiB costs hundreds of page faults to fill.
    // Each thread keeps 64 buffers of up to 64 KiB of its own (4 MiB at most).
    static auto* pool =
        new BufferPool(std::size_t{16} << 20, std::size_t{4} << 20, 64, std::size_t{64} << 10);
    return *pool;
}

std::vector<std::byte> BufferPool::take() noexcept {
    std::vector<std::byte> buffer;
    if (spares_.take(buffer)) buffer.clear();
    return buffer;
}

void BufferPool::give(std::vector<std::byte> buffer) noexcept {
    const std::size_t capacity = buffer.capacity();
    if (capacity == 0 || capacity > largest_) return;
    spares_.give(std::move(buffer));
}

}  // namespace courier
