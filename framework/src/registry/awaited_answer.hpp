#pragma once
/// @file
/// Waiting on a link for the answer to one request to a courierd: how a node probes the
/// courierd it dialed (registry_dialer.cpp), and how it asks another host's courierd to
/// place a program (placement.cpp). Frames with other correlations are skipped.

#include <courier/transports/frame.hpp>
#include <courier/transports/link.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace courier::registry {

struct AwaitedAnswer {
    enum class State : std::uint8_t {
        answered,   ///< `frame` holds the answer
        closed,     ///< the link closed or failed first (`reason`)
        timed_out,  ///< the deadline passed first
    };
    State state = State::timed_out;
    std::optional<Frame> frame;
    std::string reason;
};

/// Waits on `link` until the answer to request `correlation` arrives, the link ends, or
/// `deadline` passes. Never throws for the link's sake: its failure is `closed`.
AwaitedAnswer await_answer(Link& link, std::uint64_t correlation,
                           std::chrono::steady_clock::time_point deadline);

}  // namespace courier::registry
