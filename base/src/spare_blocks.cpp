#include <courier/spare_blocks.hpp>
#include <courier/spare_stock.hpp>

#include <algorithm>

namespace courier::detail {

namespace {

struct BlockSize {
    std::size_t operator()(const SpareBlock& block) const noexcept { return block.capacity; }
};

SpareStock<SpareBlock, BlockSize>& stock() {
    // Never destroyed: messages may release their buffers while static objects are torn
    // down.
    static auto* blocks = new SpareStock<SpareBlock, BlockSize>(spare_blocks_budget);
    return *blocks;
}

}  // namespace

SpareBlock take_block(std::size_t size) {
    SpareBlock block;
    // A spare that is too small, or so large that this one would pin it, goes back.
    constexpr std::size_t least = std::size_t{4} << 10;
    if (stock().take(block) &&
        (block.capacity < size || block.capacity > 4 * std::max(size, least))) {
        stock().give(std::move(block));
        block = SpareBlock{};
    }
    if (!block.bytes) block = SpareBlock{std::make_unique_for_overwrite<std::byte[]>(size), size};
    return block;
}

void give_block(SpareBlock&& block) noexcept {
    if (block.bytes && block.capacity <= largest_spare_block) stock().give(std::move(block));
    block.bytes.reset();  // one the stock refused
    block.capacity = 0;
}

std::size_t spare_block_bytes() noexcept {
    return stock().shared_weight();
}

}  // namespace courier::detail
