#pragma once
/// @file
/// How much a node lets another node send it ahead of its actors: the credit window of
/// each link (NodeOptions::credit_window, `[node] credit_letters`, `credit_bytes`).
/// docs/flow_control.md ("Between processes") says how credit flows.

#include <cstdint>

namespace courier {

/// What the other end of a link may have sent this node beyond what this node's actors
/// have taken: at most `letters` letters and about `bytes` bytes (a letter that starts
/// within the window may end past it). The sender keeps what does not fit in an outbox
/// and slows its own senders; the receiver grants credit back as its actors take the
/// letters. Replies and the framework's letters are not counted: they are never held
/// back.
struct CreditWindow {
    std::uint64_t letters = 4096;
    std::uint64_t bytes = std::uint64_t{4} << 20;
    bool operator==(const CreditWindow&) const = default;
};

}  // namespace courier
