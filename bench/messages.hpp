#pragma once
/// @file
/// The typed messages of the courier runs.

#include "alloc_counter.hpp"
#include "payload.hpp"

#include <courier/courier.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

namespace courier::bench {

/// The bytes of a Payload. Up to 64 of them live inline, as a short string's do, so the
/// 64 B rows measure courier rather than malloc (the raw runs allocate nothing per
/// message either); larger payloads are on the heap, not zero-filled (the raw runs do not
/// clear their buffers either), where their allocation is the message's, not the
/// framework's, and is left out of --count-allocs.
class PayloadBytes {
  public:
    static constexpr std::size_t inline_capacity = 64;

    PayloadBytes() noexcept = default;
    PayloadBytes(PayloadBytes&& other) noexcept
        : size_(std::exchange(other.size_, 0)), capacity_(std::exchange(other.capacity_, 0)) {
        std::memcpy(&store_, &other.store_, sizeof(store_));
    }
    PayloadBytes& operator=(PayloadBytes&& other) noexcept {
        if (this != &other) {
            release();
            size_ = std::exchange(other.size_, 0);
            capacity_ = std::exchange(other.capacity_, 0);
            std::memcpy(&store_, &other.store_, sizeof(store_));
        }
        return *this;
    }
    ~PayloadBytes() { release(); }

    std::uint8_t* data() noexcept { return capacity_ == 0 ? store_.small : store_.large; }
    const std::uint8_t* data() const noexcept {
        return capacity_ == 0 ? store_.small : store_.large;
    }
    std::size_t size() const noexcept { return size_; }
    std::uint8_t* begin() noexcept { return data(); }
    std::uint8_t* end() noexcept { return data() + size_; }
    const std::uint8_t* begin() const noexcept { return data(); }
    const std::uint8_t* end() const noexcept { return data() + size_; }
    std::uint8_t& back() noexcept { return data()[size_ - 1]; }

    /// Makes it `size` bytes long; what it holds is then unspecified.
    void resize(std::size_t size) {
        if (size > inline_capacity && size > capacity_) {
            alloc_counter::Pause message_not_framework;
            auto* large = new std::uint8_t[size];
            release();
            store_.large = large;
            capacity_ = static_cast<std::uint32_t>(size);
        }
        size_ = static_cast<std::uint32_t>(size);
    }

  private:
    void release() noexcept {
        if (capacity_ != 0) delete[] store_.large;
        capacity_ = 0;
    }
    // 72 bytes in all, so that a Payload lives in its letter like any small message
    // (LetterBody::room) instead of in a block of its own.
    union Store {
        std::uint8_t small[inline_capacity];
        std::uint8_t* large;
    } store_{};
    std::uint32_t size_ = 0;
    std::uint32_t capacity_ = 0;  ///< of `large`; 0 while the bytes are inline
};

/// One measured message; the latency runs echo it back.
struct Payload {
    std::uint64_t seq = 0;
    PayloadBytes bytes;
    /// Written as Cereal writes a vector of bytes: a size, then the bytes.
    template <class Archive>
    void save(Archive& archive) const {
        archive(seq, cereal::make_size_tag(static_cast<cereal::size_type>(bytes.size())));
        archive(cereal::binary_data(bytes.data(), bytes.size()));
    }
    template <class Archive>
    void load(Archive& archive) {
        archive(seq);
        cereal::size_type size = 0;
        archive(cereal::make_size_tag(size));
        bytes.resize(static_cast<std::size_t>(size));
        archive(cereal::binary_data(bytes.data(), bytes.size()));
    }
};

/// Message `seq` of a run: the pattern with `seq` stamped in.
inline Payload make_payload(const Pattern& pattern, std::uint64_t seq) {
    Payload payload;
    payload.bytes.resize(pattern.size());
    payload.seq = seq;
    pattern.fill({payload.bytes.data(), payload.bytes.size()}, seq);
    return payload;
}

/// Asks the local sending actor to begin.
struct Start {
    template <class Archive>
    void serialize(Archive&) {}
};

/// A sending actor's note to itself: send the next batch. Sending in turns lets the actor
/// handle other letters between batches, as an application's actor would.
struct Continue {
    template <class Archive>
    void serialize(Archive&) {}
};

/// After the last Payload: how many were sent. The receiver reports when it arrives, so a
/// lost message shows as a short count instead of a hang.
struct Done {
    std::uint64_t count = 0;
    template <class Archive>
    void serialize(Archive& archive) {
        archive(count);
    }
};

/// A request and its answer that open the link before the clock starts.
struct Hello {
    template <class Archive>
    void serialize(Archive&) {}
};
struct Ack {
    template <class Archive>
    void serialize(Archive&) {}
};

}  // namespace courier::bench

COURIER_MESSAGE(courier::bench::Payload, "courier_bench.Payload");
COURIER_MESSAGE(courier::bench::Start, "courier_bench.Start");
COURIER_MESSAGE(courier::bench::Continue, "courier_bench.Continue");
COURIER_MESSAGE(courier::bench::Done, "courier_bench.Done");
COURIER_MESSAGE(courier::bench::Hello, "courier_bench.Hello");
COURIER_MESSAGE(courier::bench::Ack, "courier_bench.Ack");

static_assert(
    courier::detail::LetterBody::fits<courier::detail::LocalBody<courier::bench::Payload>>,
    "a 64-byte Payload sent in the process lives in its letter, as small messages do");
