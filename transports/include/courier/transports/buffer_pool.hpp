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
/// the thread receiving from a link takes, workers give). Buffers of up to `small` bytes
/// of capacity and larger ones (up to `largest`) are kept apart, so a large frame finds
/// memory of its size instead of reallocating a small buffer, and a small frame does not
/// hold a large buffer's memory. Each kind keeps at most `budget` bytes of spare
/// capacity; what does not fit is freed, so a burst of large frames does not stay
/// allocated. Each thread keeps up to `per_thread` small buffers of its own besides (see
/// detail::SpareStock): a thread that takes what it gave touches no shared memory.
class BufferPool {
  public:
    BufferPool(std::size_t budget, std::size_t largest, std::size_t per_thread = 0,
               std::size_t small = std::size_t(-1));

    /// The pool of the process's frame buffers (16 MiB of spare capacity of each kind,
    /// buffers up to 4 MiB: records, chunks and the frames reassembled from them; small
    /// buffers are those up to 64 KiB, 64 of them per thread).
    static BufferPool& frames();

    /// An empty buffer: with the memory of an earlier frame when one of the right kind is
    /// spare, for a frame of `size` bytes (0 when it is not known yet: a small one). Not a
    /// spare of more than four times `size` (or 4 KiB): a small frame would pin it for as
    /// long as its letter waits.
    std::vector<std::byte> take(std::size_t size = 0) noexcept;
    /// Keeps `buffer`'s memory for a later take() if the bounds allow, else frees it.
    void give(std::vector<std::byte> buffer) noexcept;

    /// Capacity held by the shared spare buffers now (exact while no other thread takes
    /// or gives); what threads keep for themselves is not counted.
    std::size_t spare_bytes() const noexcept {
        return small_.shared_weight() + large_.shared_weight();
    }

  private:
    struct Capacity {
        std::size_t operator()(const std::vector<std::byte>& buffer) const noexcept {
            return buffer.capacity();
        }
    };
    using Stock = detail::SpareStock<std::vector<std::byte>, Capacity>;
    Stock small_, large_;
    std::size_t largest_, small_largest_;
};

}  // namespace courier
