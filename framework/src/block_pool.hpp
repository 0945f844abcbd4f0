#pragma once
/// @file
/// Spare memory blocks of one size, for objects made on one thread and freed on another
/// at a steady rate (letter bodies: made by the sender or the thread receiving from a
/// link, freed by the worker that handled the letter).

#include <courier/spare_stock.hpp>

#include <cstddef>
#include <memory>

namespace courier::detail {

/// A bounded stock of blocks of `block_size` bytes, shared by any threads (lock-free).
/// take() returns a spare block or a new one from the global operator new; give() keeps
/// a block for the next take() while fewer than `limit` are spare in the shared stock,
/// else frees it. Each thread may keep `per_thread` blocks of its own besides.
class BlockPool {
  public:
    BlockPool(std::size_t block_size, std::size_t limit, std::size_t per_thread = 0);

    void* take();
    void give(void* block) noexcept;

    /// Blocks spare in the shared stock now (exact while no other thread takes or gives).
    std::size_t spares() const noexcept { return spares_.shared_weight(); }

  private:
    struct Free {
        void operator()(void* block) const noexcept { ::operator delete(block); }
    };
    using Block = std::unique_ptr<void, Free>;
    struct One {
        std::size_t operator()(const Block&) const noexcept { return 1; }
    };
    SpareStock<Block, One> spares_;
    std::size_t block_size_;
};

}  // namespace courier::detail
