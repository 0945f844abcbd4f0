// The storage of the letter bodies too large to live in their letter (LetterBody). Each is
// made by the sending actor or the thread receiving from a link and freed by the worker
// that handled the letter, so the common sizes go round through pools instead of malloc.

#include <courier/framework/detail/letter.hpp>

#include "block_pool.hpp"

#include <array>

namespace courier::detail {

namespace {

constexpr std::array<std::size_t, 4> block_sizes{64, 128, 256, 512};

/// The pool of blocks of block_sizes[i]. Never destroyed: letters may die while static
/// objects are torn down. Each keeps up to 8 MiB of spare blocks: enough for the deepest
/// backlog of letters courier-bench builds at 64 B; a deeper one allocates, and frees
/// beyond the bound. Each thread keeps 64 blocks of each size for itself.
BlockPool& blocks(std::size_t i) {
    static const auto pools = [] {
        std::array<BlockPool*, block_sizes.size()> made{};
        for (std::size_t k = 0; k < made.size(); ++k)
            made[k] = new BlockPool(block_sizes[k], (std::size_t{8} << 20) / block_sizes[k], 64);
        return made;
    }();
    return *pools[i];
}

/// The index of the smallest block size that holds `size`, or block_sizes.size().
std::size_t size_class(std::size_t size) noexcept {
    std::size_t i = 0;
    while (i < block_sizes.size() && block_sizes[i] < size) ++i;
    return i;
}

}  // namespace

void* Body::operator new(std::size_t size) {
    const std::size_t i = size_class(size);
    return i < block_sizes.size() ? blocks(i).take() : ::operator new(size);
}

void Body::operator delete(void* storage, std::size_t size) noexcept {
    const std::size_t i = size_class(size);
    if (i < block_sizes.size())
        blocks(i).give(storage);
    else
        ::operator delete(storage);
}

}  // namespace courier::detail
