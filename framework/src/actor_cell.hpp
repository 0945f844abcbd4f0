#pragma once
/// @file
/// Where letters for a name go: an actor's cell (mailbox + scheduling), or a waiter that
/// a thread outside the actors blocks on for a reply.

#include <courier/framework/actor.hpp>
#include <courier/framework/letter.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace courier::detail {

class NodeCore;
class Scheduler;

class Mailbox {
  public:
    virtual ~Mailbox() = default;
    /// Takes the letter; never blocks (mailboxes are unbounded for now).
    virtual void deliver(Letter letter) = 0;
};

/// Internal letter types, never on a link.
inline constexpr TypeId start_type = type_id_from_name("courier.internal.Start");
inline constexpr TypeId stop_type = type_id_from_name("courier.internal.Stop");

struct ActorCell final : Mailbox, std::enable_shared_from_this<ActorCell> {
    ActorCell(NodeCore& node, std::unique_ptr<Actor> actor);

    void deliver(Letter letter) override;
    /// Runs a batch of letters on the calling worker; reschedules itself if more remain.
    void run();
    /// Schedules the cell if it has letters and is not scheduled yet.
    void kick();
    /// Turns every letter left in the mailbox into a dead letter.
    void bounce_all();

    NodeCore& node;
    std::unique_ptr<Actor> actor;
    /// Appends a letter without scheduling the cell (the start letter, before the name
    /// is visible).
    void enqueue(Letter letter);

    std::atomic<bool> scheduled{false};
    std::atomic<bool> closed{false};  ///< stopped: letters now become dead letters

  private:
    void finish();
    /// Moves up to `max` letters from the mailbox to `out`, oldest first.
    void take(std::vector<Letter>& out, std::size_t max);

    // A true FIFO across every sending thread: moodycamel's queue orders only per
    // producer, and an actor's letters come from whichever thread ran its sender. The
    // lock is held for a push or a batch move, never while a handler runs.
    std::mutex mailbox_mutex_;
    std::deque<Letter> mailbox_;
};

/// A mailbox for one reply, waited on by a thread outside the actors (Node::request).
class ReplyWaiter final : public Mailbox {
  public:
    void deliver(Letter letter) override;
    /// The reply, or nullopt when `deadline` passed first.
    std::optional<Letter> wait(std::chrono::steady_clock::time_point deadline);

  private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::optional<Letter> letter_;
};

}  // namespace courier::detail
