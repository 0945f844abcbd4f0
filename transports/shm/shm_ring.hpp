#pragma once
/// @file
/// The layout of a shm: link's segment and the single-producer / single-consumer ring
/// of variable-length frames inside it. Private to courier_transports.
///
/// Segment: a header, then two ring states (one per direction, each field on its own
/// cache line), then the two rings' bytes. A record in a ring is an 8-byte length
/// followed by the frame's bytes, padded to 8; positions only grow (the offset is
/// position & (capacity − 1)), so a record may wrap around the end and is copied in
/// two pieces. The writer publishes with a store of `head`, the reader frees room with
/// a store of `tail`; each loads the other's. These are seq_cst (release/acquire, plus
/// the store-then-load order that the sleeping flags rely on: a writer stores `head`
/// then loads `reader_sleeping`, a reader stores `reader_sleeping` then loads `head`,
/// and with all four seq_cst at least one of them sees the other — no lost wake-up,
/// and no fences, which ThreadSanitizer cannot check). A batching writer (send with
/// `more`) loads `reader_sleeping` once after several stores of `head`, perhaps on
/// another thread; the send mutex orders those stores before that load, so the last of
/// them and the load still pair with the reader's store and load as above.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace courier::detail {

static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "the ring needs lock-free (address-free) 64-bit atomics in shared memory");
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

inline constexpr std::size_t shm_record_header = 8;
/// The largest frame a ring takes in one piece (the native frame limit): one record
/// of 256 KiB. Fixed, because the registry sizes chunks before a link exists.
inline constexpr std::size_t shm_frame_limit = (std::size_t{256} << 10) - shm_record_header;
inline constexpr std::size_t shm_min_ring = std::size_t{256} << 10;
inline constexpr std::size_t shm_max_ring = std::size_t{1} << 30;

/// The bytes a frame of `size` takes in the ring.
constexpr std::uint64_t shm_record_size(std::size_t size) {
    return shm_record_header + ((static_cast<std::uint64_t>(size) + 7) & ~std::uint64_t{7});
}

/// A requested ring size made valid: a power of two in [shm_min_ring, shm_max_ring].
std::size_t shm_ring_capacity(std::size_t requested);

struct alignas(64) ShmRingState {
    alignas(64) std::atomic<std::uint64_t> head{0};  ///< written by the producer
    alignas(64) std::atomic<std::uint64_t> tail{0};  ///< written by the consumer
    /// Starts set: the reactor may poll before it ever calls receive(), so the first
    /// frame must signal.
    alignas(64) std::atomic<std::uint32_t> reader_sleeping{1};
    std::atomic<std::uint32_t> writer_sleeping{0};
    /// Set by the consumer when it closes the link cleanly: the producer's next send
    /// fails at once instead of filling a ring nobody reads.
    std::atomic<std::uint32_t> reader_closed{0};
};

struct ShmSegmentHeader {
    static constexpr std::uint64_t expected_magic = 0x31304d4853524343ULL;  // "CCRSHM01"
    std::uint64_t magic = 0;
    std::uint64_t ring_capacity = 0;
    ShmRingState rings[2];
};

/// Bytes of a segment whose rings hold `capacity` bytes each.
constexpr std::size_t shm_segment_size(std::size_t capacity) {
    return sizeof(ShmSegmentHeader) + 2 * capacity;
}

/// One direction of a mapped segment, seen by its producer or its consumer.
class ShmRing {
  public:
    ShmRing(ShmRingState& state, std::byte* data, std::size_t capacity) noexcept
        : state_(&state),
          data_(data),
          capacity_(capacity),
          read_(state.tail.load(std::memory_order_relaxed)) {}

    std::size_t capacity() const noexcept { return capacity_; }
    ShmRingState& state() const noexcept { return *state_; }

    // Producer side.
    /// Bytes free now.
    std::uint64_t free_space() const noexcept;
    /// Writes one record holding `parts` end to end (`size` bytes in all) and publishes
    /// it; the caller checked free_space().
    void write(std::span<const std::span<const std::byte>> parts, std::size_t size) noexcept;

    // Consumer side. The reader's position runs ahead of `tail` while records are lent:
    // their room, and that of the records read after them, is freed when they are released.
    /// True if a record is published that was not read yet.
    bool readable() const noexcept;
    /// True if a record is published whose room is not freed yet: readable() from any
    /// thread, but for records still lent (only while the reader holds them).
    bool pending() const noexcept;
    /// The length the next (readable) record announces, unchecked: for sizing a buffer.
    std::uint64_t next_length() const noexcept;
    /// True if the next record, announcing `length` bytes, lies in one piece in the ring.
    bool contiguous(std::uint64_t length) const noexcept;
    /// Reads the next record into `out` and frees its room (once no record read before it
    /// is still lent). False if the record is malformed (a length above `limit` or beyond
    /// what was published).
    bool read(std::vector<std::byte>& out, std::size_t limit);
    /// Lends the next record, which the caller found contiguous(): `out` views its bytes
    /// in the ring, whose room stays taken until release(). False if it is malformed.
    bool lend(std::span<const std::byte>& out, std::size_t limit);
    /// Releases `lent`, the oldest record lent and not released yet: frees its room and
    /// that of the records read before it (of every record read, if it was the last lent).
    void release(std::span<const std::byte> lent) noexcept;
    /// Releases every record lent.
    void release_all() noexcept;
    /// Records lent and not released.
    std::size_t lent() const noexcept { return lent_; }

  private:
    void copy_in(std::uint64_t position, const std::byte* from, std::size_t size) noexcept;
    void copy_out(std::uint64_t position, std::byte* to, std::size_t size) const noexcept;
    /// The length of the record at `position`, the reader's, if it is well formed.
    bool check(std::uint64_t position, std::size_t limit, std::uint64_t& length) const noexcept;
    /// Moves the reader's position past a record read or lent.
    void advance(std::uint64_t to) noexcept;

    ShmRingState* state_;
    std::byte* data_;
    std::size_t capacity_;
    /// The reader's position: `tail` while nothing is lent.
    std::uint64_t read_;
    std::size_t lent_ = 0;
};

}  // namespace courier::detail
