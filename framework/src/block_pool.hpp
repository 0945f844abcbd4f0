#pragma once
/// @file
/// Spare memory blocks of one size, for objects made on one thread and freed on another
/// at a steady rate (WireBody: made by the thread receiving from a link, freed by a worker).

#include <atomic>
#include <cstddef>
#include <memory>

namespace courier::detail {

/// A bounded stock of blocks of `block_size` bytes, shared by any threads (lock-free).
/// take() returns a spare block or a new one from the global operator new; give() keeps
/// a block for the next take() while fewer than `limit` are spare, else frees it.
class BlockPool {
  public:
    BlockPool(std::size_t block_size, std::size_t limit);
    ~BlockPool();  ///< frees the spare blocks
    BlockPool(const BlockPool&) = delete;
    BlockPool& operator=(const BlockPool&) = delete;

    void* take();
    void give(void* block) noexcept;

    /// Blocks spare now (exact while no other thread takes or gives).
    std::size_t spares() const noexcept { return spares_count_.load(); }

  private:
    struct Spares;  // a moodycamel::ConcurrentQueue of blocks
    std::unique_ptr<Spares> spares_;
    std::size_t block_size_, limit_;
    std::atomic<std::size_t> spares_count_{0};
};

}  // namespace courier::detail
