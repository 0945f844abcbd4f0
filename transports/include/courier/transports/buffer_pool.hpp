#pragma once
/// @file
/// Spare byte buffers for received frames. A link takes one to read a frame into; the
/// letter that ends up holding the frame gives it back when it dies; so a steady stream
/// of frames allocates nothing once the pool holds as many buffers as are in flight.

#include <courier/spare_stock.hpp>

#include <cstddef>
#include <vector>

namespace courier {

/// A bounded stock of spare `std::vector<std::byte>`s, shared by any threads (lock-free:
/// the thread receiving from a link takes, workers give). It keeps at most `budget`
/// bytes of spare capacity, and no buffer above `largest` bytes; what does not fit is
/// freed, so a burst of large frames does not stay allocated. Besides, each thread may
/// keep `per_thread` buffers of up to `per_thread_largest` bytes for itself (see
/// detail::SpareStock): a thread that takes what it gave touches no shared memory.
class BufferPool {
  public:
    BufferPool(std::size_t budget, std::size_t largest, std::size_t per_thread = 0,
               std::size_t per_thread_largest = 0);

    /// The pool of the process's frame buffers (16 MiB of spare capacity, buffers up to
    /// 4 MiB: records, chunks and the frames reassembled from them; 64 buffers of up to
    /// 64 KiB per thread).
    static BufferPool& frames();

    /// An empty buffer: with the capacity of an earlier frame when one is spare.
    std::vector<std::byte> take() noexcept;
    /// Keeps `buffer`'s memory for a later take() if the bounds allow, else frees it.
    void give(std::vector<std::byte> buffer) noexcept;

    /// Capacity held by the shared spare buffers now (exact while no other thread takes
    /// or gives); what threads keep for themselves is not counted.
    std::size_t spare_bytes() const noexcept { return spares_.shared_weight(); }

  private:
    struct Capacity {
        std::size_t operator()(const std::vector<std::byte>& buffer) const noexcept {
            return buffer.capacity();
        }
    };
    detail::SpareStock<std::vector<std::byte>, Capacity> spares_;
    std::size_t largest_;
};

}  // namespace courier
