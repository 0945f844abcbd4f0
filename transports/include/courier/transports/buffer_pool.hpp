#pragma once
/// @file
/// Spare byte buffers for received frames. A link takes one to read a frame into; the
/// letter that ends up holding the frame gives it back when it dies; so a steady stream
/// of frames allocates nothing once the pool holds as many buffers as are in flight.

#include <courier/spare_stock.hpp>

#include <cstddef>
#include <memory>
#include <vector>

namespace courier {

/// A bounded stock of spare `std::vector<std::byte>`s, shared by any threads (lock-free:
/// the thread receiving from a link takes, workers give). Buffers are kept by capacity,
/// so a frame finds memory of about its size: small ones (up to `small` bytes) together,
/// larger ones (up to `largest`) in classes of a power of two each. So a large frame does
/// not reallocate a smaller buffer, and a small frame does not pin a large buffer's memory.
/// The small buffers and the large ones each keep at most `budget` bytes of spare
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

    /// An empty buffer: with the memory of an earlier frame when one is spare for a frame
    /// of `size` bytes (0 when it is not known yet: a small one). A small frame may get a
    /// spare of up to four times its size (or 4 KiB), a large one a spare of at least its
    /// size and under four times it: larger, the frame would pin memory it does not use
    /// for as long as its letter waits.
    std::vector<std::byte> take(std::size_t size = 0) noexcept;
    /// Keeps `buffer`'s memory for a later take() if the bounds allow, else frees it.
    void give(std::vector<std::byte> buffer) noexcept;

    /// Capacity held by the shared spare buffers now (exact while no other thread takes
    /// or gives); what threads keep for themselves is not counted.
    std::size_t spare_bytes() const noexcept {
        return small_.shared_weight() + large_budget_.held.load();
    }

  private:
    struct Capacity {
        std::size_t operator()(const std::vector<std::byte>& buffer) const noexcept {
            return buffer.capacity();
        }
    };
    using Stock = detail::SpareStock<std::vector<std::byte>, Capacity>;

    /// The class of the large buffers of `capacity` bytes: capacities from small·2^i up to
    /// twice that are class i (the last class goes up to `largest`).
    std::size_t large_class(std::size_t capacity) const noexcept;
    /// A spare of class `i` with room for `size` bytes, or an empty vector.
    std::vector<std::byte> take_large(std::size_t i, std::size_t size) noexcept;

    Stock small_;
    detail::SpareBudget large_budget_;
    std::vector<std::unique_ptr<Stock>> large_;
    std::size_t largest_, small_largest_;
};

}  // namespace courier
