#pragma once
/// @file
/// The typed messages of the courier runs.

#include <courier/courier.hpp>

#include <cstdint>
#include <vector>

namespace courier::bench {

/// One measured message; the latency runs echo it back.
struct Payload {
    std::uint64_t seq = 0;
    std::vector<std::uint8_t> bytes;
    template <class Archive>
    void serialize(Archive& archive) {
        archive(seq, bytes);
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
