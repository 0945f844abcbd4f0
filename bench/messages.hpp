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
#include <new>
#include <span>
#include <utility>
#include <vector>

namespace courier::bench {

/// The bytes of a Payload. Up to 64 of them live inline, as a short string's do, so the
/// 64 B rows measure courier rather than malloc (the raw runs allocate nothing per
/// message either); larger payloads are a courier::Bytes, as an application's large
/// message would be: on the heap, not zero-filled (the raw runs do not clear their buffers
/// either), where their allocation is the message's, not the framework's, and is left out
/// of --count-allocs. So the large rows measure courier's path for large messages: the
/// bytes sent from where they are, received into the frame the Bytes then shares.
class PayloadBytes {
  public:
    static constexpr std::size_t inline_capacity = 64;

    PayloadBytes() noexcept {}
    PayloadBytes(PayloadBytes&& other) noexcept : size_(other.size_) {
        if (other.is_large())
            ::new (&store_.large) courier::Bytes(std::move(other.store_.large));
        else
            std::memcpy(store_.small, other.store_.small, size_);
        other.reset();
    }
    PayloadBytes& operator=(PayloadBytes&& other) noexcept {
        if (this != &other) {
            this->~PayloadBytes();
            ::new (this) PayloadBytes(std::move(other));
        }
        return *this;
    }
    ~PayloadBytes() { reset(); }

    /// Writable until it is sent: a large payload's bytes are a Bytes::for_overwrite block,
    /// which the bench fills (and corrupts, for --inject-fault) before sending. A received
    /// one shares its frame and is only read (fold() takes the bytes of a mutable Payload).
    std::uint8_t* data() noexcept {
        if (!is_large()) return store_.small;
        const auto writable = store_.large.writable();
        if (writable.empty()) return const_cast<std::uint8_t*>(std::as_const(*this).data());
        return reinterpret_cast<std::uint8_t*>(writable.data());
    }
    const std::uint8_t* data() const noexcept {
        return is_large() ? reinterpret_cast<const std::uint8_t*>(store_.large.data())
                          : store_.small;
    }
    std::size_t size() const noexcept { return size_; }
    std::uint8_t* begin() noexcept { return data(); }
    std::uint8_t* end() noexcept { return data() + size_; }
    const std::uint8_t* begin() const noexcept { return data(); }
    const std::uint8_t* end() const noexcept { return data() + size_; }
    std::uint8_t& back() noexcept { return data()[size_ - 1]; }

    /// Makes it `size` bytes long; what it holds is then unspecified.
    void resize(std::size_t size) {
        if (size > inline_capacity) {
            alloc_counter::Pause message_not_framework;
            reset();
            ::new (&store_.large) courier::Bytes(courier::Bytes::for_overwrite(size));
        } else {
            reset();
        }
        size_ = static_cast<std::uint32_t>(size);
    }
    /// Copies a few bytes inline: no allocation.
    void assign_inline(std::span<const std::byte> bytes) noexcept {
        reset();
        if (!bytes.empty()) std::memcpy(store_.small, bytes.data(), bytes.size());
        size_ = static_cast<std::uint32_t>(bytes.size());
    }
    /// Takes `bytes` (decoded); inline when they are few.
    void assign(courier::Bytes&& bytes) noexcept {
        reset();
        const std::size_t size = bytes.size();  // before the move empties it
        if (size > inline_capacity) {
            ::new (&store_.large) courier::Bytes(std::move(bytes));
        } else if (size != 0) {
            std::memcpy(store_.small, bytes.data(), size);
        }
        size_ = static_cast<std::uint32_t>(size);
    }
    bool is_large() const noexcept { return size_ > inline_capacity; }
    const courier::Bytes& large() const noexcept { return store_.large; }

  private:
    void reset() noexcept {
        if (is_large()) store_.large.~Bytes();
        size_ = 0;
    }
    // 72 bytes in all, so that a Payload lives in its letter like any small message
    // (LetterBody::room) instead of in a block of its own.
    union Store {
        Store() noexcept {}
        ~Store() {}
        std::uint8_t small[inline_capacity];
        courier::Bytes large;
    } store_;
    std::uint32_t size_ = 0;
};

/// One measured message; the latency runs echo it back.
struct Payload {
    std::uint64_t seq = 0;
    PayloadBytes bytes;
    /// Written as Cereal writes a vector of bytes: a size, then the bytes (a large payload
    /// as its courier::Bytes, which courier's payloads send from where it is).
    template <class Archive>
    void save(Archive& archive) const {
        archive(seq);
        if (bytes.is_large()) {
            archive(bytes.large());
            return;
        }
        archive(cereal::make_size_tag(static_cast<cereal::size_type>(bytes.size())));
        archive(cereal::binary_data(bytes.data(), bytes.size()));
    }
    template <class Archive>
    void load(Archive& archive) {
        archive(seq);
        courier::Bytes read;
        archive(read);
        bytes.assign(std::move(read));
    }
    /// courier's own archive: a small payload is read inline with no allocation, a large
    /// one as a Bytes that shares the received frame.
    void load(courier::PayloadInputArchive& archive) {
        archive(seq);
        std::uint64_t size = 0;
        archive(size);
        archive.check_count(size);
        const auto taken = archive.take_bytes(static_cast<std::size_t>(size));
        auto* keeper = archive.keeper();
        if (taken.size() <= PayloadBytes::inline_capacity) {
            bytes.assign_inline(taken);  // no allocation
            return;
        }
        if (keeper && taken.size() >= courier::Bytes::part_threshold) {
            bytes.assign(courier::Bytes::shared(keeper->keep(), taken));  // the frame's share
            return;
        }
        // The message's own copy, as on the sending side (resize): not the framework's.
        alloc_counter::Pause message_not_framework;
        bytes.assign(courier::Bytes(taken));
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
