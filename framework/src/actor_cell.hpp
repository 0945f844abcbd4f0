#pragma once
/// @file
/// An actor's cell: the actor, its mailbox, its scheduling state, and the routes it
/// remembers. It runs the actor's turns (run), routes what the actor sends, and carries
/// out the actor's FailurePolicy when a handler threw: a restart puts a new actor in the
/// same cell (same name, same mailbox); a stop or an escalation finishes the cell.

#include "letter_queue.hpp"
#include "mailbox.hpp"
#include "restart_window.hpp"
#include "scheduler.hpp"
#include "wire_body.hpp"

#include <courier/expected.hpp>
#include <courier/framework/actor.hpp>
#include <courier/framework/detail/letter.hpp>
#include <courier/framework/error.hpp>
#include <courier/framework/mailbox_limit.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace courier::detail {

class NodeCore;
struct Route;

struct ActorCell final : Mailbox, Runnable, std::enable_shared_from_this<ActorCell> {
    /// `again` builds the actor anew for a restart (empty: it cannot restart); `parent`
    /// gets ChildFailed when it escalates (empty: its node logs it).
    ActorCell(NodeCore& node, std::unique_ptr<Actor> actor, ActorFactory again = {},
              std::string parent = {});

    /// True on a thread running an actor's turn (its sends are an actor's).
    static bool in_turn() noexcept;

    /// Any thread. The letter that finds the cell asleep schedules it (or, once it has
    /// stopped, bounces). A full mailbox (MailboxLimit) takes it, slows its sender,
    /// refuses it or drops it, by its Overflow policy and who sends.
    void deliver(Letter&& letter) override;
    /// As deliver, saying why the mailbox refused the letter (its Overflow policy).
    Expected<void, Error> deliver_checked(Letter&& letter);
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
    bool run() override;
    /// Hands a new cell to the scheduler. Its creator holds it until then (the node, while
    /// it puts the start letter in first and makes the name known).
    void start();
    /// Turns every letter left in the mailbox into a dead letter, and lets the cell sleep:
    /// by its holder, once it is closed.
    void bounce_all();

    // ---- its mailbox's limit (docs/flow_control.md) ----

    /// Sets the limit and overflow policy of its mailbox; any thread.
    void limit_mailbox(const MailboxLimit& limit);
    /// For a thread outside the actors, before it sends here: waits while the mailbox is
    /// full under Overflow::block, until it has room or `timeout` passes (false then).
    /// True at once under another policy, or for a closed cell.
    bool wait_for_room(std::chrono::milliseconds timeout);
    /// A cell parked because its last turn sent into a full mailbox, or into a link's
    /// outbox, runs again; nothing if it is not parked. Any thread.
    void unpark();
    /// The actor whose turn runs on this thread, if any, sent into `link`'s outbox (it had
    /// no credit): it is parked after its turn until the outbox drains.
    static void wait_for_credit(const std::shared_ptr<PeerLink>& link) noexcept;
    /// For a send from this thread that found no credit on `link`: true when the thread
    /// may wait a moment for some. Only an actor's turn, of an actor nobody waits on (as
    /// for parking), and not once it waited in vain max_vain_credit_waits times in a row
    /// without a grant from the peer.
    static bool may_wait_for_credit(const PeerLink& link);
    /// That moment passed without credit on `link`.
    static void waited_for_credit_in_vain(const PeerLink& link) noexcept;
    /// A turn that sends thousands of letters to a stopped peer holds its worker for this
    /// many waits, not one a letter. A live consumer grants between them: a wait in vain
    /// is one that a busy machine kept it from answering in time.
    static constexpr unsigned max_vain_credit_waits = 16;
    MailboxStats mailbox_stats() const;

    NodeCore& node;
    /// Its actor's name, for other threads (the actor object changes when it restarts).
    const std::string actor_name;
    /// Before `actor`: an actor it built may refer to the arguments it keeps.
    const ActorFactory again;
    std::unique_ptr<Actor> actor;

    std::atomic<bool> closed{false};  ///< stopped: letters now become dead letters

  private:
    /// A letter found the cell asleep, so this thread holds it now.
    void woken();
    /// How a letter from the calling thread goes in when the mailbox is full.
    LetterQueue::Admit admission() const noexcept;
    /// After a letter went in: a sender in its turn that found the mailbox full (block) is
    /// slowed, and a parked cell that others wait on runs again.
    void after_push();
    /// A letter the full mailbox refused: the framework's letters and answers go in
    /// anyway; others bounce (fail) or are dropped (drop_newest), or go in while an old
    /// one is dropped (drop_oldest); the error says why.
    std::optional<Error> refused(Letter&& letter);
    /// Under drop_oldest: room for one more beside the limit's worth of letters waiting
    /// to be dropped (twice the limit in all).
    bool below_twice_the_limit() const;
    /// Under drop_oldest, with letters due to be dropped: drops `letter`, the oldest, and
    /// says true; false for a letter never dropped (the framework's, an answer).
    bool dropped_oldest(Letter& letter);
    /// Raises the high-water mark to what the mailbox holds now: after a turn that left
    /// letters behind, and when it refuses a letter. (Senders that find it full raise the
    /// queue's own, LetterQueue::high_water.)
    void note_depth() noexcept;
    /// Senders slowed by this mailbox go on once it is half empty (or closed: `all`).
    void let_senders_go(bool all = false);
    /// Parks `sender` (the cell whose turn just ended) until this mailbox has room; false
    /// when it must not wait: its own mailbox is full (others wait on it), this cell is
    /// closed, or there is room already.
    bool park(const std::shared_ptr<ActorCell>& sender);
    /// Parks this cell (its turn just ended) until `link`'s outbox drains; false when it
    /// must not wait: others wait on it (its mailbox is full, someone is slowed by it, or
    /// the link's peer is short of the credit this node grants), or the outbox drained.
    bool park_for_credit(const std::shared_ptr<PeerLink>& link);
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

    // Flow control. What senders read on every letter is one atomic; the rest is for the
    // slow path, when the mailbox is full.
    std::atomic<Overflow> overflow_{Overflow::block};
    /// Set in its turn when it sent into a full mailbox (block): parked there after it.
    std::shared_ptr<ActorCell> blocked_on_;
    /// Set in its turn when it sent into a link's outbox (no credit): parked there after it.
    std::shared_ptr<PeerLink> waits_for_credit_;
    /// This turn's waits for credit in vain on one link since its last grant.
    struct VainCreditWaits {
        const PeerLink* link = nullptr;
        std::uint64_t grants = 0;  ///< the link's LinkCredit::grants() then
        unsigned waits = 0;
    } vain_credit_;
    std::atomic<bool> parked_{false};
    std::weak_ptr<ActorCell> parked_on_;  ///< written before parked_ is set
    std::chrono::steady_clock::time_point parked_at_;
    /// Those slowed by this mailbox: cells parked on it, threads waiting for room.
    mutable std::mutex room_mutex_;
    std::condition_variable room_;
    std::vector<std::weak_ptr<ActorCell>> parked_senders_;  ///< guarded by room_mutex_
    std::atomic<bool> senders_slowed_{false};               ///< someone to let go
    MailboxLimit limit_;                                    ///< guarded by room_mutex_
    std::atomic<std::uint64_t> blocked_ns_{0}, refused_{0}, dropped_{0}, high_water_{0};
    /// Under drop_oldest: letters that went in over the limit, so as many old ones go.
    std::atomic<std::uint64_t> drop_due_{0};
};

}  // namespace courier::detail
