#pragma once
/// @file
/// NodeStats: what a node counts (Node::stats()); `courier ps`, `courier top` and the
/// node's metrics show them.

#include <cstdint>

namespace courier {

/// Counters of a node since it started.
struct NodeStats {
    std::uint64_t delivered_local = 0;   ///< letters put in a mailbox of this process
    std::uint64_t sent_remote = 0;       ///< frames sent to other nodes
    std::uint64_t received_remote = 0;   ///< frames received from other nodes
    std::uint64_t dead_letters = 0;      ///< letters that could not be delivered
    std::uint64_t handler_failures = 0;  ///< handlers that threw or could not decode
    std::uint64_t bad_frames = 0;        ///< frames refused as malformed (their link closed)
    /// names looked up in the registry to send to them (a name it did not know is not
    /// asked about again until it is registered)
    std::uint64_t registry_lookups = 0;
    std::uint64_t restarts = 0;  ///< actors built again after their handler threw
    template <class A>
    void serialize(A& a) {
        a(delivered_local, sent_remote, received_remote, dead_letters, handler_failures, bad_frames,
          registry_lookups, restarts);
    }
};

}  // namespace courier
