#pragma once
/// @file
/// Large blocks of uninitialized memory, kept for reuse by the whole process: the buffers
/// of large messages (a Bytes made for_overwrite(), a large frame a stream link reads into).
/// A fresh block of a MiB costs hundreds of page faults as it is first written, and malloc
/// hands large blocks back to the kernel when they are freed (above its mmap and trim
/// thresholds), so a program that sends or receives one large message after another paid
/// those faults for every message; a spare, written before, pays none.

#include <cstddef>
#include <memory>

namespace courier::detail {

/// A block of `capacity` bytes, not initialized.
struct SpareBlock {
    std::unique_ptr<std::byte[]> bytes;
    std::size_t capacity = 0;
};

/// A block of at least `size` bytes: a spare when one fits (one more than four times as
/// large is not taken: it would pin memory the message does not use), else a new one.
/// Any thread. Throws std::bad_alloc.
SpareBlock take_block(std::size_t size);

/// Keeps `block` for a later take_block() while the stock has room (blocks of up to
/// `largest_spare_block`, `spare_blocks_budget` bytes in all); frees it otherwise. Any
/// thread, also while static objects are destroyed.
void give_block(SpareBlock&& block) noexcept;

/// The bytes of the spares kept now.
std::size_t spare_block_bytes() noexcept;

inline constexpr std::size_t largest_spare_block = std::size_t{4} << 20;
inline constexpr std::size_t spare_blocks_budget = std::size_t{16} << 20;

}  // namespace courier::detail
