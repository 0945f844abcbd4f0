#include "actor_cell.hpp"

#include "link_sender.hpp"
#include "node_core.hpp"
#include "router.hpp"

#include <courier/framework/detail/reply.hpp>

#include <spdlog/spdlog.h>

namespace courier::detail {

namespace {
/// Letters the framework posts to itself; never bounced to anyone.
bool is_internal(TypeId type) {
    return type == start_type || type == stop_type || type == request_timeout_type;
}
}  // namespace

ActorCell::ActorCell(NodeCore& owner, std::unique_ptr<Actor> a, ActorFactory factory,
                     std::string parent)
    : node(owner), again(std::move(factory)), actor(std::move(a)), parent_(std::move(parent)) {}

// ---- Letters in ------------------------------------------------------------------------

void ActorCell::deliver(Letter&& letter) {
    if (mailbox_.push(std::move(letter))) woken();
}

void ActorCell::deliver(const EnvelopeHeader& header, Frame&& frame,
                        std::span<const std::byte> payload,
                        const std::shared_ptr<PeerLink>& origin) {
    const bool woke = mailbox_.push_built([&](Letter& letter) {
        address(letter, header);  // its names view the frame: before the body takes it
        letter.origin = origin;
        letter.body.emplace<WireBody>(std::move(frame), payload);
    });
    if (woke) woken();
}

void ActorCell::deliver(const EnvelopeHeader& header, Draft& draft) {
    const bool woke = mailbox_.push_built([&](Letter& letter) {
        address(letter, header);
        draft.detach(letter.body);
    });
    if (woke) woken();
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
    bool stops = false;
    {
        // Remote sends of the turn may wait in their links; they all go out when it ends,
        // before the letters handled are destroyed (a reply must not wait for that) and
        // before this worker takes another cell or sleeps (link_sender.hpp).
        LinkSender::Turn turn(node.sender());
        // Past a stopping node's drain deadline: stop now, what is left bounces. (Once a
        // turn, not once a letter: the send path pays nothing for it.)
        stops = node.hurried() && started_;
        // A turn bounds how long one busy actor keeps a worker from the others.
        constexpr std::size_t turn_letters = 64;
        for (std::size_t handled = 0; !stops && handled < turn_letters; ++handled) {
            Letter* letter = mailbox_.take();
            if (!letter) break;
            handle(*letter);
            // The one check a letter costs, as before: a throwing handler sets it too.
            if (actor->stopping_) [[unlikely]]
                stops = !restarted();
        }
    }
    if (stops) {
        // After the turn's sends went out: once the actor is finished, a stopping node
        // may close its links (node_stop.cpp), and a reply still held in one would be lost.
        finish();
        return false;
    }
    if (!mailbox_.empty()) return true;
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
        spdlog::error("actor '{}': on_start threw: {}; stopping it", actor->name(), e.what());
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
    spdlog::warn("actor '{}' restarts ({} within {} ms): {}", old.name(), restarts_.recent(),
                 limit.within.count(), *old.failure_);
    try {
        old.on_stop();
    } catch (const std::exception& e) {
        node.count_handler_failure();
        spdlog::error("actor '{}': on_stop threw: {}", old.name(), e.what());
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
        spdlog::error("actor '{}': on_stop threw: {}", actor->name(), e.what());
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
            spdlog::error("{} (its failure policy is {})", why, to_string(policy));
        else if (parent_.empty())
            spdlog::error("{}: it has no parent, so its node stopped it", why);
        else
            spdlog::error("{}: its parent '{}' is told", why, parent_);
    }
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
            if (is_internal(letter->type)) continue;
            node.dead_letter(*letter, ErrorCode::stopped,
                             "actor '" + actor->name() + "' has stopped");
        }
    } while (!mailbox_.sleep());
}

}  // namespace courier::detail
