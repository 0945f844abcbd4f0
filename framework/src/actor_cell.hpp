#pragma once
/// @file
/// Where letters for a name go: an actor's cell (mailbox + scheduling), or a waiter that
/// a thread outside the actors blocks on for a reply.

#include "letter_queue.hpp"
#include "wire_body.hpp"

#include <courier/framework/actor.hpp>
#include <courier/framework/detail/letter.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace courier::detail {

class NodeCore;
class Scheduler;

class Mailbox {
  public:
    virtual ~Mailbox() = default;
    /// Takes the letter; never blocks (mailboxes are unbounded for now).
    virtual void deliver(Letter&& letter) = 0;
    /// Takes the letter of a frame that arrived over `origin`: its envelope (`header`,
    /// views into the frame), the frame, and where in it the payload lies.
    virtual void deliver(const EnvelopeHeader& header, Frame&& frame,
                         std::span<const std::byte> payload,
                         const std::shared_ptr<PeerLink>& origin);
};

/// Internal letter types, never on a link.
inline constexpr TypeId start_type = type_id_from_name("courier.internal.Start");
inline constexpr TypeId stop_type = type_id_from_name("courier.internal.Stop");

struct ActorCell final : Mailbox, std::enable_shared_from_this<ActorCell> {
    ActorCell(NodeCore& node, std::unique_ptr<Actor> actor);

    /// Any thread. The letter that finds the cell asleep schedules it (or, once it has
    /// stopped, bounces).
    void deliver(Letter&& letter) override;
    /// As deliver, the letter built in the mailbox (no letter moved on the way).
    void deliver(const EnvelopeHeader& header, Frame&& frame, std::span<const std::byte> payload,
                 const std::shared_ptr<PeerLink>& origin) override;
    /// As deliver, the letter built in the mailbox from `header` and `draft`'s message.
    void deliver(const EnvelopeHeader& header, Draft& draft);
    /// Routes a letter its actor sends (`draft`: its body, if `letter.body` is null).
    /// Called only from the actor's own turn.
    void send(Letter&& letter, Draft* draft);
    /// Routes a message its actor sends, addressed by `header`: to an actor of this
    /// process, the letter is built straight in the recipient's mailbox (no letter on the
    /// sender's stack to build and then move). Called only from the actor's own turn.
    void send(const EnvelopeHeader& header, Draft& draft);
    /// Runs up to a turn of letters on the calling worker. True when letters remain: the
    /// caller still holds the cell and runs it again or queues it; false when it went to
    /// sleep (or stopped).
    bool run();
    /// Hands a new cell to the scheduler. Its creator holds it until then (the node, while
    /// it puts the start letter in first and makes the name known).
    void start();
    /// Turns every letter left in the mailbox into a dead letter, and lets the cell sleep:
    /// by its holder, once it is closed.
    void bounce_all();

    NodeCore& node;
    std::unique_ptr<Actor> actor;

    std::atomic<bool> closed{false};  ///< stopped: letters now become dead letters

  private:
    /// A letter found the cell asleep, so this thread holds it now.
    void woken();
    void finish();
    void handle(Letter& letter);
    /// Where a name this actor sends to lives: a local actor's cell, or the link to the
    /// node that has it (valid while the link is up and the node's routes unchanged).
    struct Route {
        std::shared_ptr<ActorCell> cell;
        std::shared_ptr<PeerLink> peer;
        std::uint64_t generation = 0;  ///< NodeCore::route_generation() when cached
    };
    /// The route to `name`, or null when the node must look it up (NodeCore::post). The
    /// route the last send used is checked inline (actor.cpp), local or remote alike.
    const Route* route(std::string_view name);
    const Route* find_route(std::string_view name);
    /// False once the route may be wrong: its cell closed, its link broke, or the node's
    /// routes changed since it was cached.
    bool usable(const Route& route) const noexcept;

    /// A true FIFO across every sending thread (moodycamel's queue orders only per
    /// producer, and an actor's letters come from whichever thread ran its sender), and
    /// the cell's scheduling state: see LetterQueue.
    LetterQueue mailbox_;
    /// The names this actor sends to, so a send skips the node's locked tables; a closed
    /// cell, a broken link or changed routes make it look again.
    std::unordered_map<std::string, Route> routes_;
    /// The entry of routes_ the last send used: most sends go where the previous one went,
    /// and comparing the name is cheaper than hashing it. (Entries do not move on rehash.)
    std::pair<const std::string, Route>* last_route_ = nullptr;
};

/// A mailbox for one reply, waited on by a thread outside the actors (Node::request).
class ReplyWaiter final : public Mailbox {
  public:
    using Mailbox::deliver;
    void deliver(Letter&& letter) override;
    /// The reply, or nullopt when `deadline` passed first.
    std::optional<Letter> wait(std::chrono::steady_clock::time_point deadline);

  private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::optional<Letter> letter_;
};

}  // namespace courier::detail
