#include <courier/transports/shared_bytes.hpp>

#include <courier/spare_blocks.hpp>
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

}  // namespace

SharedBytes SharedBytes::uninitialized(std::size_t size) {
    auto block = detail::take_block(size);
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
            detail::give_block({std::move(holder_->block), holder_->block_capacity});
            holder_->block_size = holder_->block_capacity = 0;
        } else {
            BufferPool::frames().give(std::move(holder_->bytes));
        }
        holders().give(std::unique_ptr<Holder>(holder_));
    }
    holder_ = nullptr;
}

}  // namespace courier
