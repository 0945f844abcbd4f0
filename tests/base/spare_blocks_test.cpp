// The process's spare large blocks: a block given back is taken again for a message of a
// like size, not for a much smaller one, and the stock keeps no more than its bounds.

#include <courier/spare_blocks.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <vector>

using namespace courier::detail;

namespace {

constexpr std::size_t mib = std::size_t{1} << 20;

/// Takes blocks of `size` until one at `wanted` comes (true) or `tries` were taken (the
/// stock may hold other tests' spares first); gives them all back.
bool taken_again(const std::byte* wanted, std::size_t size, int tries) {
    std::vector<SpareBlock> taken;
    bool found = false;
    for (int i = 0; i < tries && !found; ++i) {
        taken.push_back(take_block(size));
        found = taken.back().bytes.get() == wanted;
    }
    for (auto& block : taken) give_block(std::move(block));
    return found;
}

}  // namespace

TEST_CASE("a block given back is taken again for a message of a like size", "[spare_blocks]") {
    auto block = take_block(mib);
    REQUIRE(block.bytes);
    CHECK(block.capacity >= mib);
    const std::byte* at = block.bytes.get();
    give_block(std::move(block));
    CHECK_FALSE(block.bytes);
    // At most budget / 1 MiB spares are kept: it is among the first that many (and one).
    CHECK(taken_again(at, mib - 100, static_cast<int>(spare_blocks_budget / mib) + 1));
}

TEST_CASE("a spare far larger than what is asked for is left in the stock", "[spare_blocks]") {
    auto large = take_block(4 * mib);
    const std::byte* at = large.bytes.get();
    give_block(std::move(large));
    // 64 KiB asked for: the 4 MiB spare would pin 64 times that.
    std::vector<SpareBlock> small;
    for (int i = 0; i < 32; ++i) {
        small.push_back(take_block(64 << 10));
        CHECK(small.back().bytes.get() != at);
        CHECK(small.back().capacity <= 4 * (std::size_t{64} << 10));
    }
    for (auto& block : small) give_block(std::move(block));
    CHECK(taken_again(at, 4 * mib, 32));
}

TEST_CASE("the stock keeps at most its budget and no block above the largest", "[spare_blocks]") {
    // A block above the largest kept is freed, not kept.
    const std::size_t before = spare_block_bytes();
    give_block(take_block(largest_spare_block + 1));
    CHECK(spare_block_bytes() <= before);
    // Twice the budget given back in 1 MiB blocks: the stock fills up to its budget and
    // frees the rest.
    std::vector<SpareBlock> given;
    for (std::size_t i = 0; i < 2 * spare_blocks_budget / mib; ++i)
        given.push_back(take_block(mib));
    for (auto& block : given) {
        give_block(std::move(block));
        CHECK_FALSE(block.bytes);
        CHECK(spare_block_bytes() <= spare_blocks_budget);
    }
    CHECK(spare_block_bytes() > spare_blocks_budget - largest_spare_block);
}
