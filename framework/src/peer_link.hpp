#pragma once
/// @file
/// A link to another node, with what the node keeps about it. Shared by the node's peer
/// table (peers.hpp) and by the letters that came over it, so that a reply goes back the
/// way its request came.

#include "link_credit.hpp"
#include "mailbox.hpp"

#include <courier/transports/link.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace courier::detail {

struct PeerLink {
    /// The node at the other end; empty while it is not known. A link this node makes
    /// knows it before the link is shared. An accepted link learns it from the peer's
    /// Hello once the claim is checked (Peers::claim), a spawned child's link from its
    /// Hello or from the registry. Read from any thread.
    const std::string& node() const noexcept {
        static const std::string unknown;
        return named_.load(std::memory_order_acquire) ? node_ : unknown;
    }
    /// Names the node at the other end: once, before the link is shared or under the
    /// peer table's lock.
    void name(std::string node) {
        node_ = std::move(node);
        named_.store(true, std::memory_order_release);
    }
    /// "node 'x'" once the node is known, else the link's own description of the other
    /// end: for logs and errors.
    std::string who() const { return named_.load() ? "node '" + node_ + "'" : link->peer(); }

    std::unique_ptr<Link> link;
    /// An accepted link's Hello arrived (Peers::claim). Guarded by the peer table's lock.
    bool said_hello = false;
    std::string transport;  ///< scheme
    std::string reason;     ///< why this transport (Selection::describe, or "accepted")
    bool initiated = false;
    std::atomic<bool> broken{false};
    std::atomic<std::uint64_t> frames_sent{0}, bytes_sent{0}, frames_received{0}, bytes_received{0},
        errors{0};
    /// What this node may send the peer and what it granted the peer (link_credit.hpp).
    LinkCredit credit;
    /// Frames sent with `more` since the link last wrote everything: lost if a flush fails.
    std::atomic<std::uint64_t> unflushed{0};
    /// Held while frames are taken from the link and delivered, by the reactor or by a
    /// worker polling it: one receiver at a time, in order.
    std::mutex receiving;
    std::vector<Frame> inbox;  ///< guarded by `receiving`; reused
    /// Guarded by `receiving`: where the last letter from this link went, so a stream of
    /// letters to one actor skips the node's name table and the type registry.
    struct LastDelivery {
        std::string recipient;
        std::shared_ptr<Mailbox> box;
        std::uint64_t names_generation = 0;  ///< LocalActors::generation() when found
        TypeId type = 0;                     ///< a type known to MessageRegistry
    } last;

  private:
    std::string node_;
    std::atomic<bool> named_{false};
};

}  // namespace courier::detail
