#pragma once
/// @file
/// Where letters for a name go: an actor's cell (mailbox + scheduling), or a waiter that
/// a thread outside the actors blocks on for a reply.

#include <courier/framework/actor.hpp>
#include <courier/framework/letter.hpp>

#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

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
    moodycamel::ConcurrentQueue<Letter> mailbox;
    std::atomic<bool> scheduled{false};
    std::atomic<bool> closed{false};  ///< stopped: letters now become dead letters

  private:
    void finish();
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
