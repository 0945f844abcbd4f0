#include "block_pool.hpp"

#include <new>

namespace courier::detail {

BlockPool::BlockPool(std::size_t block_size, std::size_t limit, std::size_t per_thread)
    : spares_(limit, per_thread), block_size_(block_size) {}

void* BlockPool::take() {
    Block block;
    if (spares_.take(block)) return block.release();
    return ::operator new(block_size_);
}

void BlockPool::give(void* block) noexcept {
    if (block != nullptr) spares_.give(Block(block));
}

}  // namespace courier::detail
