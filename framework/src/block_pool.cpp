#include "block_pool.hpp"

#include <concurrentqueue/concurrentqueue.h>

#include <new>

namespace courier::detail {

struct BlockPool::Spares {
    moodycamel::ConcurrentQueue<void*> queue;
};

BlockPool::BlockPool(std::size_t block_size, std::size_t limit)
    : spares_(std::make_unique<Spares>()), block_size_(block_size), limit_(limit) {}

BlockPool::~BlockPool() {
    void* block = nullptr;
    while (spares_->queue.try_dequeue(block)) ::operator delete(block);
}

void* BlockPool::take() {
    void* block = nullptr;
    if (spares_->queue.try_dequeue(block)) {
        spares_count_.fetch_sub(1, std::memory_order_relaxed);
        return block;
    }
    return ::operator new(block_size_);
}

void BlockPool::give(void* block) noexcept {
    if (block == nullptr) return;
    if (spares_count_.fetch_add(1, std::memory_order_relaxed) >= limit_ ||
        !spares_->queue.enqueue(block)) {
        spares_count_.fetch_sub(1, std::memory_order_relaxed);
        ::operator delete(block);
    }
}

}  // namespace courier::detail
