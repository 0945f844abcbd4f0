#include <courier/transports/shared_bytes.hpp>

#include <courier/spare_stock.hpp>
#include <courier/transports/buffer_pool.hpp>

#include <algorithm>
#include <memory>

namespace courier {

namespace {

struct Count {
    std::size_t operator()(const std::unique_ptr<SharedBytes::Holder>&) const noexcept { return 1; }
};

/// Spare holders: one is taken per packed chunk by the thread reading a link and given
/// back by the worker whose letter was the chunk's last.
detail::SpareStock<std::unique_ptr<SharedBytes::Holder>, Count>& holders() {
    // Never destroyed: letters may release buffers while static objects are torn down.
    static auto* stock =
        new detail::SpareStock<std::unique_ptr<SharedBytes::Holder>, Count>(4096, 64);
    return *stock;
}

/// A spare block of uninitialized(), with its size.
struct Block {
    std::unique_ptr<std::byte[]> bytes;
    std::size_t capacity = 0;
};
struct BlockSize {
    std::size_t operator()(const Block& block) const noexcept { return block.capacity; }
};

/// Spare blocks, as BufferPool::frames() keeps spare vectors: 16 MiB of them, each of up to
/// 4 MiB. A fresh block of a MiB costs hundreds of page faults as it is filled.
detail::SpareStock<Block, BlockSize>& blocks() {
    // Never destroyed: letters may release buffers while static objects are torn down.
    static auto* stock = new detail::SpareStock<Block, BlockSize>(std::size_t{16} << 20);
    return *stock;
}
constexpr std::size_t largest_spare_block = std::size_t{4} << 20;

}  // namespace

SharedBytes SharedBytes::uninitialized(std::size_t size) {
    Block block;
    // A spare that is too small, or so large that this frame would pin it, goes back.
    constexpr std::size_t least = std::size_t{4} << 10;
    if (blocks().take(block) &&
        (block.capacity < size || block.capacity > 4 * std::max(size, least))) {
        blocks().give(std::move(block));
        block = Block{};
    }
    if (!block.bytes) block = Block{std::make_unique_for_overwrite<std::byte[]>(size), size};
    SharedBytes shared(std::vector<std::byte>{});
    shared.holder_->block = std::move(block.bytes);
    shared.holder_->block_capacity = block.capacity;
    shared.holder_->block_size = size;
    return shared;
}

SharedBytes::SharedBytes(std::vector<std::byte> bytes) {
    std::unique_ptr<Holder> holder;
    if (!holders().take(holder)) holder = std::make_unique<Holder>();
    holder->refs.store(1, std::memory_order_relaxed);
    holder->bytes = std::move(bytes);
    holder_ = holder.release();
}

void SharedBytes::release() noexcept {
    if (!holder_) return;
    // acq_rel: the last owner sees every other owner's reads done before it reuses the buffer.
    if (holder_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        if (holder_->block) {
            if (holder_->block_capacity <= largest_spare_block)
                blocks().give(Block{std::move(holder_->block), holder_->block_capacity});
            holder_->block.reset();  // one the stock refused
            holder_->block_size = holder_->block_capacity = 0;
        } else {
            BufferPool::frames().give(std::move(holder_->bytes));
        }
        holders().give(std::unique_ptr<Holder>(holder_));
    }
    holder_ = nullptr;
}

}  // namespace courier
