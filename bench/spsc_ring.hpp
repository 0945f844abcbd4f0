#pragma once
/// @file
/// A plain single-producer / single-consumer byte ring, the raw baseline of `shm:` (in a
/// shared mapping) and of the in-process row (in the heap), written the way a tuned ring
/// is: positions only grow; each side keeps its own position and a cached copy of the
/// other's in its own memory, so a message touches no shared cache line unless the cache
/// says the ring looks full (writer) or empty (reader); the writer publishes `head` and
/// the reader gives room back with `tail` once per batch (and before either waits, and on
/// flush()), with release stores read by acquire loads.
///
/// A side with nothing to do spins for a while (yielding now and then), then sleeps on a
/// futex; the other side wakes it only when it has said it sleeps. The flag and the
/// position form a Dekker pair (store one, full fence, load the other, on both sides), so
/// no wake-up is lost; the fence is paid once per publication, not per message.

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

/// One side's view of a ring: an object is used only for writing or only for reading, by
/// one thread. Aligned to a cache line: the two sides' objects of the in-process row are
/// in one heap, and a position written per message must not share a line with the other
/// side's.
class alignas(64) SpscRing {
  public:
    /// `capacity` is a power of two; `control` and `data` may be in shared memory.
    SpscRing(RingControl& control, std::uint8_t* data, std::size_t capacity,
             std::chrono::microseconds spin) noexcept;

    /// Bytes of memory a ring of `capacity` needs (control block, then data).
    static constexpr std::size_t footprint(std::size_t capacity) noexcept {
        return sizeof(RingControl) + capacity;
    }

    /// Bytes between two publications of a position: 4 KiB of a 1 MiB ring (64 messages
    /// of 64 B). The shared lines then move between the cores once per 64 small messages,
    /// and a reader that caught up gets the next batch within microseconds, well inside
    /// its spin, instead of sleeping once per batch as it did with 64 KiB batches.
    static constexpr std::size_t batch(std::size_t capacity) noexcept { return capacity / 256; }

    /// Copies all of `bytes` in; publishes once a batch has accumulated, or before it
    /// waits for room, which it does while the ring is full.
    void write(std::span<const std::uint8_t> bytes) noexcept;
    /// Publishes everything written so far: the end of a burst, or a request.
    void flush() noexcept;
    /// Fills `out`, blocking while the ring is empty; gives room back once per batch.
    void read(std::span<std::uint8_t> out) noexcept;

  private:
    /// Waits until `ready()` or a wake-up on `sleeping`.
    template <class Ready>
    void wait(std::atomic<std::uint32_t>& sleeping, Ready ready) noexcept;
    /// Stores `position` in `shared` (release), and wakes the other side if it sleeps.
    static void publish(std::atomic<std::uint64_t>& shared, std::uint64_t position,
                        std::atomic<std::uint32_t>& sleeping) noexcept;
    void give_back() noexcept;

    RingControl* control_;
    std::uint8_t* data_;
    std::size_t capacity_;
    std::size_t batch_;  ///< bytes between two publications of a position
    std::chrono::microseconds spin_;
    // This side's own position, what it last published, and its copy of the other's.
    std::uint64_t position_ = 0, published_ = 0, peer_ = 0;
};

}  // namespace courier::bench
