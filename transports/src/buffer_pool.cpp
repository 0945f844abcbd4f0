#include <courier/transports/buffer_pool.hpp>

#include <concurrentqueue/concurrentqueue.h>

namespace courier {

struct BufferPool::Spares {
    moodycamel::ConcurrentQueue<std::vector<std::byte>> queue;
};

BufferPool::BufferPool(std::size_t budget, std::size_t largest)
    : spares_(std::make_unique<Spares>()), budget_(budget), largest_(largest) {}

BufferPool::~BufferPool() = default;

BufferPool& BufferPool::frames() {
    // Never destroyed: letters may give buffers back while static objects are torn down.
    // The budget covers a backlog of ~100 k small frames (what courier-bench builds when
    // a receiving actor falls behind its reactor), 4 k frames of 4 KiB or a few large
    // reassembled ones: a fresh buffer of a MiB costs hundreds of page faults to fill.
    static auto* pool = new BufferPool(std::size_t{16} << 20, std::size_t{4} << 20);
    return *pool;
}

std::vector<std::byte> BufferPool::take() noexcept {
    std::vector<std::byte> buffer;
    if (spares_->queue.try_dequeue(buffer)) {
        spare_bytes_.fetch_sub(buffer.capacity(), std::memory_order_relaxed);
        buffer.clear();
    }
    return buffer;
}

void BufferPool::give(std::vector<std::byte> buffer) noexcept {
    const std::size_t capacity = buffer.capacity();
    if (capacity == 0 || capacity > largest_) return;
    if (spare_bytes_.fetch_add(capacity, std::memory_order_relaxed) + capacity > budget_ ||
        !spares_->queue.enqueue(std::move(buffer))) {
        spare_bytes_.fetch_sub(capacity, std::memory_order_relaxed);
    }
}

}  // namespace courier
