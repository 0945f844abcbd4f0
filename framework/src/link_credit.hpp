#pragma once
/// @file
/// Credit on one link, both ways (docs/flow_control.md, "Between processes"; the frames
/// are in docs/protocol.md, "Credit").
///
/// Sending: this node sends a credited letter (any letter but a reply or one of the
/// framework's own) while the peer's grants allow it. One that may not go waits in the
/// link's outbox, highest priority first, and its sender is slowed: an actor is parked
/// after its turn, a thread outside the actors waits up to its send timeout. A grant lets
/// the outbox drain (on a worker: LinkSender::drain), and then its senders go on.
///
/// Receiving: the peer may send what this node granted. As this node's actors take its
/// letters (or they are refused, dropped or bounced), their credit is granted back, a
/// quarter of the window at a time. A peer that sends beyond its grant is cut off.
///
/// Counts are cumulative since the link opened: a grant says "you may have sent this many
/// in all", so grants that cross or come twice do no harm.

#include "node_protocol.hpp"

#include <courier/fd.hpp>
#include <courier/framework/credit_window.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace courier::detail {

struct ActorCell;

class LinkCredit {
  public:
    /// What each end may send before the other's first grant.
    static constexpr CreditWindow initial{256, std::uint64_t{256} << 10};

    /// The window this node grants the peer; set before the link receives anything.
    void set_window(const CreditWindow& window) noexcept { window_ = window; }

    // ---- Sending ----

    /// A letter waiting for credit: its frame and the descriptors it holds (its own now).
    struct Held {
        std::vector<std::byte> frame;
        std::vector<Fd> fds;
        std::uint8_t priority = 0;
    };

    /// True, with the letter counted, when a credited letter of `bytes` bytes may go now;
    /// false when it must wait in the outbox (no credit, or letters wait there already).
    bool take(std::size_t bytes) noexcept {
        return !queued_.load(std::memory_order_acquire) && take_credit(bytes);
    }
    /// Puts a letter in the outbox. True when there is credit for it already: then the
    /// caller drains the outbox.
    bool hold(Held&& held);
    /// The peer granted `grant`. True when the outbox may drain now: someone must, on a
    /// thread that may block on the link (a worker).
    bool granted(const Credit& grant);
    /// Held by whoever drains the outbox, so that letters leave in order.
    std::mutex& drain_mutex() noexcept { return drain_mutex_; }
    /// Moves into `go` (emptied first) the letters at the front of the outbox that may go
    /// now, counted as sent.
    void sendable(std::vector<Held>& go);
    /// After a drain: once the outbox is empty, its parked actors run again and waiting
    /// threads look again.
    void drained();
    /// Parks `cell` (its turn sent into the outbox) until the outbox drains; false when
    /// it drained already. Seq_cst, before the caller looks at the peer again
    /// (ActorCell::park_for_credit).
    bool park(std::weak_ptr<ActorCell> cell);
    /// Lets every parked actor run again now (the peer waits on this node: one of them may
    /// hold its letters).
    void release_parked();
    /// Seq_cst, after arrived(): see park().
    bool has_parked() const noexcept { return parked_count_.load() != 0; }
    /// Grows with every grant that gives more: whether the peer granted any since.
    std::uint64_t grants() const noexcept {
        return allowed_letters_.load(std::memory_order_acquire) +
               allowed_bytes_.load(std::memory_order_acquire);
    }
    /// For a thread outside the actors: waits until a credited letter may go at once, or
    /// `timeout` passes (false).
    bool wait(std::chrono::milliseconds timeout);
    /// The link is gone: returns the letters still held, to be bounced, and lets every
    /// waiter go.
    std::vector<Held> close();

    // ---- Receiving ----

    /// How many more credited letters the peer may send on what it was granted.
    std::uint64_t room() const noexcept {
        const auto granted = granted_letters_.load(), arrived = arrived_.load();
        return granted > arrived ? granted - arrived : 0;
    }
    /// `letters` credited letters arrived (within room()). Only the link's receiving
    /// thread calls it.
    void arrived(std::uint64_t letters) noexcept;
    /// The peer has less than a quarter of its window left: it waits on this node.
    bool peer_waits() const noexcept;
    /// This node's actors took `letters` of the peer's letters, `bytes` bytes in all (or
    /// they were refused, dropped, bounced): the grant to send back, when one is due.
    std::optional<Credit> consumed(std::uint64_t letters, std::uint64_t bytes);

    /// For LinkInfo: letters it may still send, letters held, the peer's letters not yet
    /// taken here, and the time senders spent waiting for credit.
    struct Stats {
        std::uint64_t credit = 0, outbox = 0, unreturned = 0, blocked_us = 0;
    };
    Stats stats() const;

  private:
    /// Counts a letter against the peer's grant, if it has room.
    bool take_credit(std::size_t bytes) noexcept;
    bool has_credit() const noexcept;
    /// Unparks the cells in `parked`; with mutex_ not held.
    void let_go(
        std::vector<std::pair<std::weak_ptr<ActorCell>, std::chrono::steady_clock::time_point>>
            parked);

    // Sending: what this node sent and was allowed, cumulative.
    std::atomic<std::uint64_t> sent_letters_{0}, sent_bytes_{0};
    std::atomic<std::uint64_t> allowed_letters_{initial.letters}, allowed_bytes_{initial.bytes};
    /// Letters wait in the outbox, or a drain is sending them: new ones queue behind.
    std::atomic<bool> queued_{false};
    mutable std::mutex mutex_;
    std::condition_variable room_;  ///< for threads waiting in wait()
    /// Highest priority first, FIFO within one: outbox_[outbox_head_] on. A vector whose
    /// front is taken by moving a mark, so a steady flow through it allocates nothing
    /// (a deque frees and allocates a block every few letters).
    std::vector<Held> outbox_;
    std::size_t outbox_head_ = 0;
    std::size_t outbox_size() const noexcept { return outbox_.size() - outbox_head_; }
    std::vector<std::pair<std::weak_ptr<ActorCell>, std::chrono::steady_clock::time_point>> parked_;
    std::atomic<std::size_t> parked_count_{0};
    bool closed_ = false;
    std::atomic<std::uint64_t> blocked_ns_{0};
    std::mutex drain_mutex_;

    // Receiving: what this node granted, what arrived and what its actors took.
    CreditWindow window_;
    std::atomic<std::uint64_t> granted_letters_{initial.letters}, granted_bytes_{initial.bytes};
    std::atomic<std::uint64_t> arrived_{0}, consumed_letters_{0}, consumed_bytes_{0};
    std::mutex grant_mutex_;
};

}  // namespace courier::detail
