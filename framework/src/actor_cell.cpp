#include "actor_cell.hpp"

#include "link_sender.hpp"
#include "node_core.hpp"
#include "router.hpp"

#include <courier/framework/detail/reply.hpp>
#include <courier/log.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

namespace courier::detail {

namespace {
/// The cell whose turn this thread runs, if any: its sends are an actor's.
thread_local ActorCell* running_cell = nullptr;
struct Running {
    explicit Running(ActorCell* cell) noexcept : outer(std::exchange(running_cell, cell)) {}
    ~Running() { running_cell = outer; }
    ActorCell* outer;
};
/// The credit of the letters a turn took that came over links, given back once at the
/// turn's end: a turn's letters mostly come over one link.
class TakenFromLinks {
  public:
    explicit TakenFromLinks(LinkSender& sender) noexcept : sender_(sender) {}
    ~TakenFromLinks() { give_back(); }
    TakenFromLinks(const TakenFromLinks&) = delete;
    TakenFromLinks& operator=(const TakenFromLinks&) = delete;
    void add(const Letter& letter) {
        if ((letter.flags & envelope_flags::credited) == 0) return;
        if (letter.origin != peer_) {
            give_back();
            peer_ = letter.origin;
        }
        ++letters_;
        bytes_ += letter.bytes;
    }

  private:
    void give_back() noexcept {
        if (letters_ == 0) return;
        sender_.returned(peer_, letters_, bytes_, /*here=*/true);
        letters_ = bytes_ = 0;
    }
    LinkSender& sender_;
    std::shared_ptr<PeerLink> peer_;
    std::uint64_t letters_ = 0, bytes_ = 0;
};
std::uint32_t frame_bytes(const Frame& frame) {
    return static_cast<std::uint32_t>(
        std::min<std::size_t>(frame.data().size(), std::numeric_limits<std::uint32_t>::max()));
}
}  // namespace

bool ActorCell::in_turn() noexcept {
    return running_cell != nullptr;
}

void ActorCell::wait_for_credit(const std::shared_ptr<PeerLink>& link) noexcept {
    if (running_cell) running_cell->waits_for_credit_ = link;
}

bool ActorCell::may_wait_for_credit(const PeerLink& link) {
    ActorCell* cell = running_cell;
    if (!cell) return false;
    // A peer that granted nothing through that many waits is stopped or stuck: its letters
    // go to the outbox without a wait, until it grants again.
    if (auto& vain = cell->vain_credit_; vain.link == &link &&
                                         vain.waits >= max_vain_credit_waits &&
                                         vain.grants == link.credit.grants())
        return false;
    return !cell->mailbox_.full() && !cell->senders_slowed_.load() && !cell->node.hurried() &&
           !cell->node.peers().waits_on_us(link);
}

void ActorCell::waited_for_credit_in_vain(const PeerLink& link) noexcept {
    if (!running_cell) return;
    auto& vain = running_cell->vain_credit_;
    const auto grants = link.credit.grants();
    if (vain.link != &link || vain.grants != grants) vain = {&link, grants, 0};
    ++vain.waits;
}

ActorCell::ActorCell(NodeCore& owner, std::unique_ptr<Actor> a, ActorFactory factory,
                     std::string parent)
    : node(owner),
      actor_name(a->name()),
      again(std::move(factory)),
      actor(std::move(a)),
      parent_(std::move(parent)) {}

// ---- Letters in ------------------------------------------------------------------------

void ActorCell::deliver(Letter&& letter) {
    (void)deliver_checked(std::move(letter));
}

Expected<void, Error> ActorCell::deliver_checked(Letter&& letter) {
    const auto pushed = mailbox_.push(std::move(letter), admission());
    if (pushed.refused) {
        if (auto error = refused(std::move(letter))) return Unexpected{std::move(*error)};
        return {};
    }
    if (pushed.woke) woken();
    if (pushed.full) after_push();
    return {};
}

void ActorCell::deliver(const EnvelopeHeader& header, Frame&& frame,
                        std::span<const std::byte> payload,
                        const std::shared_ptr<PeerLink>& origin) {
    const auto fill = [&](Letter& letter) {
        address(letter, header);  // its names view the frame: before the body takes it
        letter.origin = origin;
        letter.body.emplace<WireBody>(std::move(frame), payload);
    };
    const std::uint32_t bytes = frame_bytes(frame);
    if (header.priority != 0) [[unlikely]] {  // to its lane: built first
        Letter letter;
        fill(letter);
        letter.bytes = bytes;
        (void)deliver_checked(std::move(letter));
        return;
    }
    const auto pushed = mailbox_.push_built(bytes, admission(), fill);
    if (pushed.refused) {
        Letter letter;
        fill(letter);
        letter.bytes = bytes;
        (void)refused(std::move(letter));
        return;
    }
    if (pushed.woke) woken();
    if (pushed.full) after_push();
}

void ActorCell::deliver(const EnvelopeHeader& header, Draft& draft) {
    const auto fill = [&](Letter& letter) {
        address(letter, header);
        draft.detach(letter.body);
    };
    if (header.priority != 0) [[unlikely]] {  // to its lane: built first
        Letter letter;
        fill(letter);
        (void)deliver_checked(std::move(letter));
        return;
    }
    const auto pushed = mailbox_.push_built(0, admission(), fill);
    if (pushed.refused) {
        Letter letter;
        fill(letter);
        (void)refused(std::move(letter));
        return;
    }
    if (pushed.woke) woken();
    if (pushed.full) after_push();
}

// ---- A full mailbox ----------------------------------------------------------------------

inline LetterQueue::Admit ActorCell::admission() const noexcept {
    // Under block every letter goes in: an actor's sender is slowed after its turn (its
    // memory is what one turn sends), a thread outside waited for room already, a link's
    // letters are bounded by its credit.
    return overflow_.load(std::memory_order_relaxed) == Overflow::block
               ? LetterQueue::Admit::always
               : LetterQueue::Admit::below_limit;
}

void ActorCell::after_push() {
    // Others wait on a parked actor that is full now: it runs, so that it drains.
    if (parked_.load(std::memory_order_relaxed)) unpark();
    // Once per turn, not once per letter: a sender flooding a full mailbox would otherwise
    // pay two atomic counts on its control block for every letter.
    if (ActorCell* sender = running_cell;
        sender && sender != this && sender->blocked_on_.get() != this &&
        overflow_.load(std::memory_order_relaxed) == Overflow::block)
        sender->blocked_on_ = shared_from_this();
}

std::optional<Error> ActorCell::refused(Letter&& letter) {
    note_depth();
    bool keeps = is_framework_letter(letter) || letter.is_reply();
    // Under drop_oldest it goes in, and the oldest goes when the actor next takes a letter
    // (unless the mailbox fell a whole limit behind: then this one goes).
    if (!keeps && overflow_.load(std::memory_order_relaxed) == Overflow::drop_oldest &&
        below_twice_the_limit()) {
        drop_due_.fetch_add(1, std::memory_order_relaxed);
        keeps = true;
    }
    if (keeps) {
        const auto pushed = mailbox_.push(std::move(letter), LetterQueue::Admit::always);
        if (pushed.woke) woken();
        return std::nullopt;
    }
    // Its credit goes back at once (from a worker: this may be the reactor's thread).
    if (letter.flags & envelope_flags::credited)
        node.sender().returned(letter.origin, 1, letter.bytes, /*here=*/false);
    std::string why;
    {
        std::lock_guard lock(room_mutex_);
        why = "the mailbox of '" + actor_name + "' is full (" + std::to_string(limit_.letters) +
              " letters or " + std::to_string(limit_.bytes) + " bytes, overflow " +
              std::string(to_string(limit_.overflow)) + ")";
    }
    // A request is refused rather than dropped: its requester would wait out its timeout.
    const Overflow overflow = overflow_.load(std::memory_order_relaxed);
    if ((overflow == Overflow::drop_newest || overflow == Overflow::drop_oldest) &&
        !letter.is_request()) {
        ++dropped_;
        why += ": dropped";
        node.dead_letter(letter, ErrorCode::mailbox_full, why, /*bounce=*/false);
    } else {
        ++refused_;
        node.dead_letter(letter, ErrorCode::mailbox_full, why);
    }
    return Error{ErrorCode::mailbox_full, why};
}

void ActorCell::woken() {
    // Only the holder closes a cell (finish, or the node when adopting fails), and it lets
    // the cell sleep after that only through bounce_all: so a cell found closed here stays
    // closed, and one found open is safe to run.
    if (closed.load())
        bounce_all();
    else
        node.scheduler().schedule(shared_from_this());
}

void ActorCell::start() {
    node.scheduler().schedule(shared_from_this());
}

// ---- Letters out: the routes this actor remembers --------------------------------------

inline bool ActorCell::usable(const CachedRoute& route) const noexcept {
    return route.cell ? !route.cell->closed.load(std::memory_order_relaxed)
                      : !route.peer->broken.load(std::memory_order_relaxed) &&
                            route.generation == node.peers().generation();
}

inline const ActorCell::CachedRoute* ActorCell::remembered(std::string_view name) {
    if (last_route_ && last_route_->first == name && usable(last_route_->second))
        return &last_route_->second;
    return remembered_slow(name);
}

const ActorCell::CachedRoute* ActorCell::remembered_slow(std::string_view name) {
    last_route_ = nullptr;
    auto it = routes_.find(std::string(name));
    if (it == routes_.end()) return nullptr;
    if (!usable(it->second)) {
        routes_.erase(it);  // the name may belong to a new actor, or live elsewhere, by now
        return nullptr;
    }
    last_route_ = &*it;
    return &it->second;
}

void ActorCell::remember(std::string_view name, const Expected<Route, Error>& route) {
    if (!route) return;
    CachedRoute cached;
    cached.generation = route->generation;
    cached.peer = route->peer;
    if (route->box) {
        cached.cell = std::dynamic_pointer_cast<ActorCell>(route->box);
        if (!cached.cell) return;  // a waiter: for one answer, not worth remembering
    }
    // An actor that talks to many names forgets them all now and then.
    constexpr std::size_t max_routes = 256;
    if (routes_.size() == max_routes) routes_.clear();
    last_route_ = &*routes_.insert_or_assign(std::string(name), std::move(cached)).first;
}

void ActorCell::send(const EnvelopeHeader& header, Draft& draft) {
    if (const CachedRoute* to = remembered(header.recipient)) {
        if (to->cell)
            node.deliver_local(*to->cell, header, draft);
        else  // the Router checked the recipient's name; the sender's was checked at spawn
            node.sender().send(header, draft, to->peer, /*names_checked=*/true);
        return;
    }
    auto route = node.router().route(std::string(header.recipient));
    remember(header.recipient, route);
    node.router().send(route, header, draft);
}

void ActorCell::send(Letter&& letter, Draft* draft) {
    if (letter.origin) {  // an answer, back over its request's link
        node.router().post(std::move(letter), draft);
        return;
    }
    if (const CachedRoute* to = remembered(letter.recipient)) {
        if (to->cell) {
            if (draft) draft->detach(letter.body);
            node.deliver_local(*to->cell, std::move(letter));
        } else {
            node.sender().send(header_of(letter), draft ? *draft : *letter.body, to->peer,
                               /*names_checked=*/true);
        }
        return;
    }
    auto route = node.router().route(letter.recipient);
    remember(letter.recipient, route);
    node.router().send(route, std::move(letter), draft);
}

// ---- Turns -----------------------------------------------------------------------------

bool ActorCell::run() {
    const Running running(this);
    bool stops = false;
    bool behind = false;  // a whole turn's letters were waiting
    {
        // Remote sends of the turn may wait in their links; they all go out when it ends,
        // before the letters handled are destroyed (a reply must not wait for that) and
        // before this worker takes another cell or sleeps (link_sender.hpp).
        LinkSender::Turn turn(node.sender());
        TakenFromLinks taken(node.sender());  // before the turn's sends are flushed
        // Past a stopping node's drain deadline: stop now, what is left bounces. (Once a
        // turn, not once a letter: the send path pays nothing for it.)
        stops = node.hurried() && started_;
        // A turn bounds how long one busy actor keeps a worker from the others.
        constexpr std::size_t turn_letters = 64;
        for (std::size_t handled = 0; !stops; ++handled) {
            if (handled == turn_letters) {
                behind = true;
                break;
            }
            Letter* letter = mailbox_.take();
            if (!letter) break;
            taken.add(*letter);
            if (drop_due_.load(std::memory_order_relaxed) != 0 && dropped_oldest(*letter))
                [[unlikely]]
                continue;
            handle(*letter);
            // The one check a letter costs, as before: a throwing handler sets it too.
            if (actor->stopping_) [[unlikely]]
                stops = !restarted();
            // It sent into a full mailbox or a link's outbox: its turn ends here, to wait
            // (below).
            if (blocked_on_ || waits_for_credit_) [[unlikely]]
                break;
        }
    }
    // What it holds is looked at when it falls behind, not every turn: the senders' count
    // is on their cache line. Slowed senders are looked for with a plain load here, and
    // for sure (a fence) before it sleeps: a flag missed now is seen at the next turn.
    if (behind) note_depth();
    if (senders_slowed_.load(std::memory_order_relaxed)) let_senders_go();
    if (stops) {
        // After the turn's sends went out: once the actor is finished, a stopping node
        // may close its links (node_stop.cpp), and a reply still held in one would be lost.
        finish();
        return false;
    }
    // It sent into a full mailbox or a link's outbox: it waits, held, until that one has
    // room (unpark).
    auto target = std::exchange(blocked_on_, nullptr);
    auto link = std::exchange(waits_for_credit_, nullptr);
    vain_credit_ = {};
    if (target && target->park(shared_from_this())) return false;
    if (link && park_for_credit(link)) return false;
    if (!mailbox_.empty()) return true;
    let_senders_go();  // with its fence: nobody may be left waiting on a sleeping mailbox
    // Dry: the letters handled let go of their bodies, and the cell sleeps unless a letter came
    // meanwhile (then it runs on; else the next letter's push schedules it again).
    return !mailbox_.sleep();
}

void ActorCell::start_actor() {
    started_ = true;
    try {
        actor->on_start();
    } catch (const std::exception& e) {
        node.count_handler_failure();
        log().error("actor '{}': on_start threw: {}; stopping it", actor->name(), e.what());
        actor->failure_ = std::string("its on_start threw: ") + e.what();
        actor->stopping_ = true;
        start_failed_ = true;
    }
}

void ActorCell::handle(Letter& letter) {
    if (letter.type == start_type) {
        start_actor();
    } else if (letter.type == stop_type) {
        actor->stopping_ = true;
    } else {
        actor->dispatch(letter);
    }
}

// ---- When a handler threw -------------------------------------------------------------

bool ActorCell::restarted() {
    Actor& old = *actor;
    if (!old.failure_ || start_failed_ || old.policy() != FailurePolicy::restart) return false;
    const RestartLimit limit = old.limit();
    if (!again) {
        gave_up_ =
            "it cannot be built again (spawn<A> with arguments it cannot copy: pass "
            "std::ref for a reference)";
        return false;
    }
    if (!restarts_.admit(node.reactor().now(), limit)) {
        gave_up_ = "it restarted " + std::to_string(restarts_.recent()) + " times within " +
                   std::to_string(limit.within.count()) + " ms already";
        return false;
    }
    // Built first: if that throws, the old actor stops as any other, its on_stop once.
    std::unique_ptr<Actor> fresh;
    try {
        fresh = again();
    } catch (const std::exception& e) {
        gave_up_ = std::string("building it again threw: ") + e.what();
        return false;
    }
    node.counters().restarts.fetch_add(1, std::memory_order_relaxed);
    log().warn("actor '{}' restarts ({} within {} ms): {}", old.name(), restarts_.recent(),
               limit.within.count(), *old.failure_);
    try {
        old.on_stop();
    } catch (const std::exception& e) {
        node.count_handler_failure();
        log().error("actor '{}': on_stop threw: {}", old.name(), e.what());
    }
    // What the old object owed or awaited ends as when an actor stops; its name, its
    // mailbox and the monitors of it stay.
    old.abandon_deferred();
    old.cancel_pending();
    node.monitors().watcher_stopped(old.name());
    fresh->name_ = old.name_;
    fresh->node_ = old.node_;
    fresh->cell_ = this;
    actor = std::move(fresh);  // the old object goes
    start_actor();
    return !actor->stopping_;
}

void ActorCell::finish() {
    closed.store(true);
    try {
        actor->on_stop();
    } catch (const std::exception& e) {
        node.count_handler_failure();
        log().error("actor '{}': on_stop threw: {}", actor->name(), e.what());
    }
    actor->abandon_deferred();  // what on_stop did not answer: Error{stopped}, at once
    actor->cancel_pending();
    last_route_ = nullptr;
    routes_.clear();  // cells that cache each other would keep each other alive
    const std::string& name = actor->name();
    std::string why = "actor '" + name + "' stopped";
    // A failure a restart could not mend, or an escalate policy: the parent decides.
    bool escalates = false;
    std::string failure;
    if (actor->failure_) {
        const FailurePolicy policy = actor->policy();
        escalates = policy == FailurePolicy::escalate || policy == FailurePolicy::restart;
        failure = *actor->failure_;
        if (!gave_up_.empty()) failure += "; " + gave_up_;
        why += ": " + failure;
        if (!escalates)
            log().error("{} (its failure policy is {})", why, to_string(policy));
        else if (parent_.empty())
            log().error("{}: it has no parent, so its node stopped it", why);
        else
            log().error("{}: its parent '{}' is told", why, parent_);
    }
    blocked_on_.reset();
    let_senders_go(/*all=*/true);  // their letters bounce now
    node.forget(name, this, why);
    // After forget: the parent may spawn the name anew as soon as it reads this.
    if (escalates && !parent_.empty())
        node.router().post(
            make_letter(ChildFailed{name, failure, static_cast<std::uint32_t>(restarts_.recent())},
                        std::string(), parent_));
    bounce_all();
}

void ActorCell::bounce_all() {
    // Letters that come while it bounces find the cell held, and are bounced here too.
    do {
        while (Letter* letter = mailbox_.take()) {
            if (letter->flags & envelope_flags::credited)
                node.sender().returned(letter->origin, 1, letter->bytes, /*here=*/false);
            if (is_internal_type(letter->type)) continue;
            node.dead_letter(*letter, ErrorCode::stopped,
                             "actor '" + actor->name() + "' has stopped");
        }
    } while (!mailbox_.sleep());
}

}  // namespace courier::detail
