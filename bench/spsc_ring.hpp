#pragma once
/// @file
/// A plain single-producer / single-consumer byte ring, the raw baseline of `shm:` (in a
/// shared mapping) and of the in-process row (in the heap). Positions only grow; the
/// writer publishes with a store of `head`, the reader frees room with a store of `tail`.
/// A side with nothing to do spins for a while (yielding now and then), then sleeps on a
/// futex; the other side wakes it only when it has said it sleeps (seq_cst store of the
/// flag, then load of the position — and the reverse on the other side — so no wake-up
/// is lost).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

namespace courier::bench {

/// The ring size and writer spin of courier's `shm:` transport by default, as it
/// declares them, so the raw rings are sized like courier's.
std::size_t courier_ring_capacity();
std::chrono::microseconds courier_ring_spin();

struct RingControl {
    alignas(64) std::atomic<std::uint64_t> head{0};
    alignas(64) std::atomic<std::uint64_t> tail{0};
    alignas(64) std::atomic<std::uint32_t> reader_sleeping{0};
    alignas(64) std::atomic<std::uint32_t> writer_sleeping{0};
};

class SpscRing {
  public:
    /// `capacity` is a power of two; `control` and `data` may be in shared memory.
    SpscRing(RingControl& control, std::uint8_t* data, std::size_t capacity,
             std::chrono::microseconds spin) noexcept;

    /// Bytes of memory a ring of `capacity` needs (control block, then data).
    static constexpr std::size_t footprint(std::size_t capacity) noexcept {
        return sizeof(RingControl) + capacity;
    }

    /// Copies all of `bytes` in, publishing as room allows; blocks while the ring is full.
    void write(std::span<const std::uint8_t> bytes) noexcept;
    /// Fills `out`, blocking while the ring is empty.
    void read(std::span<std::uint8_t> out) noexcept;

  private:
    /// Waits until `ready()` or a wake-up on `sleeping`.
    template <class Ready>
    void wait(std::atomic<std::uint32_t>& sleeping, Ready ready) noexcept;
    static void wake(std::atomic<std::uint32_t>& sleeping) noexcept;

    RingControl* control_;
    std::uint8_t* data_;
    std::size_t capacity_;
    std::chrono::microseconds spin_;
};

}  // namespace courier::bench
