#pragma once
/// @file
/// An actor's cell: the actor, its mailbox, its scheduling state, and the routes it
/// remembers. It runs the actor's turns (run), routes what the actor sends, and carries
/// out the actor's FailurePolicy when a handler threw: a restart puts a new actor in the
/// same cell (same name, same mailbox); a stop or an escalation finishes the cell.

#include "letter_queue.hpp"
#include "mailbox.hpp"
#include "restart_window.hpp"
#include "wire_body.hpp"

#include <courier/framework/actor.hpp>
#include <courier/framework/detail/letter.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace courier::detail {

class NodeCore;
struct Route;

struct ActorCell final : Mailbox, std::enable_shared_from_this<ActorCell> {
    /// `again` builds the actor anew for a restart (empty: it cannot restart); `parent`
    /// gets ChildFailed when it escalates (empty: its node logs it).
    ActorCell(NodeCore& node, std::unique_ptr<Actor> actor, ActorFactory again = {},
              std::string parent = {});

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
    /// Before `actor`: an actor it built may refer to the arguments it keeps.
    const ActorFactory again;
    std::unique_ptr<Actor> actor;

    std::atomic<bool> closed{false};  ///< stopped: letters now become dead letters

  private:
    /// A letter found the cell asleep, so this thread holds it now.
    void woken();
    void finish();
    void handle(Letter& letter);
    /// Runs the actor's on_start; one that throws stops it (and never restarts it).
    void start_actor();
    /// The actor is stopping (Actor::stopping_): when a handler threw and its policy is
    /// restart, puts a new actor in its place and says true (the turn goes on); false when
    /// it stops, with gave_up_ saying why a restart was not possible.
    bool restarted();
    /// What the cell remembers of a Route (router.hpp) for a name it sends to: an actor's
    /// cell of this node, or the link to the node that has the name.
    struct CachedRoute {
        std::shared_ptr<ActorCell> cell;
        std::shared_ptr<PeerLink> peer;
        std::uint64_t generation = 0;  ///< Peers::generation() when found
    };
    /// The remembered route to `name`, or null: then the node's Router decides, and
    /// remember() keeps its answer. The route the last send used is checked inline.
    const CachedRoute* remembered(std::string_view name);
    const CachedRoute* remembered_slow(std::string_view name);
    void remember(std::string_view name, const Expected<Route, Error>& route);
    /// False once the route may be wrong: its cell closed, its link broke, or the node's
    /// routes changed since it was cached.
    bool usable(const CachedRoute& route) const noexcept;

    /// A true FIFO across every sending thread (moodycamel's queue orders only per
    /// producer, and an actor's letters come from whichever thread ran its sender), and
    /// the cell's scheduling state: see LetterQueue.
    LetterQueue mailbox_;
    /// The names this actor sends to, so a send skips the node's locked tables; a closed
    /// cell, a broken link or changed routes make it ask the Router again.
    std::unordered_map<std::string, CachedRoute> routes_;
    /// The entry of routes_ the last send used: most sends go where the previous one went,
    /// and comparing the name is cheaper than hashing it. (Entries do not move on rehash.)
    std::pair<const std::string, CachedRoute>* last_route_ = nullptr;
    /// on_start has run: a node's hurried stop (NodeCore::hurried) does not run on_stop
    /// before it.
    bool started_ = false;
    /// on_start threw: the actor stops, whatever its policy (a restart would throw again).
    bool start_failed_ = false;
    /// Who is told when it escalates; empty: its node.
    const std::string parent_;
    /// Its recent restarts, against its RestartLimit.
    RestartWindow restarts_;
    /// Why a failure that should have restarted it stopped it instead (empty otherwise).
    std::string gave_up_;
};

}  // namespace courier::detail
