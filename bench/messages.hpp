#pragma once
/// @file
/// The typed messages of the courier runs.

#include "alloc_counter.hpp"

#include <courier/courier.hpp>

#include <cstdint>
#include <vector>

namespace courier::bench {

/// One measured message; the latency runs echo it back.
struct Payload {
    std::uint64_t seq = 0;
    std::vector<std::uint8_t> bytes;
    template <class Archive>
    void save(Archive& archive) const {
        archive(seq, bytes);
    }
    /// Reads what save() wrote, the way Cereal reads a vector of bytes, but the vector's
    /// allocation is not counted: it belongs to the message type, not to the framework
    /// (as the sender's, made by make_payload, is not counted either).
    template <class Archive>
    void load(Archive& archive) {
        archive(seq);
        cereal::size_type size = 0;
        archive(cereal::make_size_tag(size));
        {
            alloc_counter::Pause message_not_framework;
            bytes.resize(static_cast<std::size_t>(size));
        }
        archive(cereal::binary_data(bytes.data(), bytes.size()));
    }
};

/// Asks the local sending actor to begin.
struct Start {
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
COURIER_MESSAGE(courier::bench::Done, "courier_bench.Done");
COURIER_MESSAGE(courier::bench::Hello, "courier_bench.Hello");
COURIER_MESSAGE(courier::bench::Ack, "courier_bench.Ack");
