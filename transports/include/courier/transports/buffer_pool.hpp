#pragma once
/// @file
/// Spare byte buffers for received frames. A link takes one to read a frame into; the
/// letter that ends up holding the frame gives it back when it dies; so a steady stream
/// of frames allocates nothing once the pool holds as many buffers as are in flight.

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

namespace courier {

/// A bounded stock of spare `std::vector<std::byte>`s, shared by any threads (lock-free:
/// the thread receiving from a link takes, workers give). It keeps at most `budget`
/// bytes of spare capacity, and no buffer above `largest` bytes; what does not fit is
/// freed, so a burst of large frames does not stay allocated.
class BufferPool {
  public:
    BufferPool(std::size_t budget, std::size_t largest);
    ~BufferPool();
    BufferPool(const BufferPool&) = delete;
    BufferPool& operator=(const BufferPool&) = delete;

    /// The pool of the process's frame buffers (16 MiB of spare capacity, buffers up to
    /// 4 MiB: records, chunks and the frames reassembled from them).
    static BufferPool& frames();

    /// An empty buffer: with the capacity of an earlier frame when one is spare.
    std::vector<std::byte> take() noexcept;
    /// Keeps `buffer`'s memory for a later take() if the bounds allow, else frees it.
    void give(std::vector<std::byte> buffer) noexcept;

    /// Capacity held by spare buffers now (exact while no other thread takes or gives).
    std::size_t spare_bytes() const noexcept { return spare_bytes_.load(); }

  private:
    struct Spares;  // a moodycamel::ConcurrentQueue, kept out of this header
    std::unique_ptr<Spares> spares_;
    std::size_t budget_, largest_;
    std::atomic<std::size_t> spare_bytes_{0};
};

}  // namespace courier
