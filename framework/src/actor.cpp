#include <courier/framework/actor.hpp>
#include <courier/framework/node.hpp>

#include "actor_cell.hpp"
#include "node_core.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>
#include <utility>

namespace courier {

namespace {
const std::string no_sender;
}

void Actor::post(detail::Letter&& letter, detail::Draft* draft) {
    cell_->send(std::move(letter), draft);
}

void Actor::post(const EnvelopeHeader& header, detail::Draft& draft) {
    cell_->send(header, draft);
}

void Actor::watch(std::string_view name) {
    node_->core_->watch(name_, name);
}

const std::string& Actor::sender() const noexcept {
    return current_ ? current_->sender : no_sender;
}

std::uint64_t Actor::start_request(detail::Letter& letter, std::chrono::milliseconds timeout) {
    auto& core = *node_->core_;
    letter.flags |= envelope_flags::request;
    letter.correlation = core.next_correlation();
    core.arm_timeout(name_, letter.correlation, timeout);
    return letter.correlation;
}

Actor::~Actor() {
    // Normally empty (the actor stopped: abandon_deferred); else its handles owe nothing now.
    for (auto* reply : deferred_) reply->actor = nullptr;
}

ReplyHandle Actor::reply_later() {
    if (!current_) throw std::logic_error("reply_later: no letter is being handled");
    if (deferring_) throw std::logic_error("reply_later: called twice for one letter");
    auto reply = std::make_shared<detail::DeferredReply>();
    detail::Letter& request = reply->request;
    request.type = current_->type;
    request.flags = current_->flags;
    request.correlation = current_->correlation;
    request.sender = current_->sender;
    request.recipient = current_->recipient;
    request.origin = current_->origin;  // the answer goes back over the link it came on
    deferred_.insert(reply.get());
    reply->actor = this;
    deferring_ = reply.get();
    return ReplyHandle(std::move(reply));
}

void Actor::fail(const detail::Letter& request, ErrorCode code, const std::string& reason) {
    if (!request.is_request()) return;  // nobody waits for an answer
    Failure failure{static_cast<std::uint8_t>(code), reason};
    detail::DraftOf<Failure> draft(failure);
    detail::Letter letter = detail::letter_of<Failure>(name_, request.sender);
    detail::address_reply(letter, &request);
    post(std::move(letter), &draft);
}

void Actor::abandon_deferred() noexcept {
    const auto owed = std::move(deferred_);
    deferred_.clear();
    for (auto* reply : owed) {
        reply->actor = nullptr;  // its handles owe nothing from here on
        try {
            fail(reply->request, ErrorCode::stopped,
                 "actor '" + name_ + "' stopped before answering");
        } catch (const std::exception& e) {
            spdlog::error("actor '{}': could not answer a deferred request: {}", name_, e.what());
        }
    }
}

void Actor::dropped(detail::DeferredReply& reply) noexcept {
    deferred_.erase(&reply);
    if (&reply == deferring_) {
        // Dropped by the handler that took it: dispatch answers once the handler is done,
        // with its exception if it is unwinding.
        dropped_while_handling_ = true;
        return;
    }
    try {
        fail(reply.request, ErrorCode::stopped,
             "actor '" + name_ + "' dropped its reply handle without answering");
    } catch (const std::exception& e) {
        spdlog::error("actor '{}': could not answer a dropped request: {}", name_, e.what());
    }
}

detail::DeferredReply::~DeferredReply() {
    if (actor) actor->dropped(*this);
}

bool ReplyHandle::answer(TypeId type, detail::Draft& draft) {
    if (!*this) return false;
    Actor& actor = *std::exchange(reply_->actor, nullptr);
    actor.deferred_.erase(reply_.get());
    const detail::Letter& request = reply_->request;
    detail::Letter letter;
    letter.type = type;
    letter.sender.append(actor.name_);
    letter.recipient.append(request.sender);
    detail::address_reply(letter, &request);
    actor.post(std::move(letter), &draft);
    return true;
}

void Actor::dispatch(detail::Letter& letter) {
    auto& core = *node_->core_;
    current_ = &letter;
    struct Reset {
        detail::Letter*& current;
        ~Reset() { current = nullptr; }
    } reset{current_};

    if (letter.is_reply() || letter.type == detail::request_timeout_type) {
        if (auto it = pending_.find(letter.correlation); it != pending_.end()) {
            auto complete = std::move(it->second);
            pending_.erase(it);
            try {
                complete(letter);
            } catch (const std::exception& e) {
                core.count_handler_failure();
                spdlog::error("actor '{}': reply callback threw: {}", name_, e.what());
            }
            return;
        }
        // An answer after its timeout (or a timeout after its answer): nobody waits for it.
        if (letter.type != detail::request_timeout_type)
            spdlog::debug("actor '{}': late {} from '{}' dropped", name_,
                          detail::type_name(letter.type), letter.sender);
        return;
    }

    if (!last_handler_ || last_handler_->first != letter.type) {
        auto found = handlers_.find(letter.type);
        last_handler_ = found == handlers_.end() ? nullptr : &*found;
    }
    auto* handler = last_handler_;
    if (!handler) {
        // Notices from the framework are never bounced back.
        if (letter.type == type_id_of<DeadLetter>() || letter.type == type_id_of<Down>()) {
            spdlog::debug("actor '{}' has no handler for {}", name_,
                          detail::type_name(letter.type));
            return;
        }
        core.dead_letter(
            letter, ErrorCode::no_handler,
            "actor '" + name_ + "' has no handler for " + detail::type_name(letter.type));
        return;
    }
    try {
        handler->second(letter);
    } catch (const std::exception& e) {
        bool undecodable = dynamic_cast<const detail::UndecodableMessage*>(&e) != nullptr;
        core.count_handler_failure();
        spdlog::error("actor '{}': handler for {} from '{}' {}: {}", name_,
                      detail::type_name(letter.type), letter.sender,
                      undecodable ? "could not decode it" : "threw", e.what());
        // A request whose ReplyHandle lives on (or answered already) gets no Failure.
        if (!deferring_ || dropped_while_handling_)
            fail(letter, undecodable ? ErrorCode::bad_message : ErrorCode::handler_failed,
                 e.what());
        deferring_ = nullptr;
        dropped_while_handling_ = false;
        return;
    }
    if (deferring_) [[unlikely]] {
        if (dropped_while_handling_)
            fail(letter, ErrorCode::stopped,
                 "actor '" + name_ + "' dropped its reply handle without answering");
        deferring_ = nullptr;
        dropped_while_handling_ = false;
    }
}

namespace detail {

namespace {
/// Letters the framework posts to itself; never bounced to anyone.
bool is_internal(TypeId type) {
    return type == start_type || type == stop_type || type == request_timeout_type;
}
}  // namespace

ActorCell::ActorCell(NodeCore& owner, std::unique_ptr<Actor> a)
    : node(owner), actor(std::move(a)) {}

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

inline bool ActorCell::usable(const Route& route) const noexcept {
    return route.cell ? !route.cell->closed.load(std::memory_order_relaxed)
                      : !route.peer->broken.load(std::memory_order_relaxed) &&
                            route.generation == node.route_generation();
}

inline const ActorCell::Route* ActorCell::route(std::string_view name) {
    if (last_route_ && last_route_->first == name && usable(last_route_->second))
        return &last_route_->second;
    return find_route(name);
}

void ActorCell::deliver(const EnvelopeHeader& header, Draft& draft) {
    const bool woke = mailbox_.push_built([&](Letter& letter) {
        address(letter, header);
        draft.detach(letter.body);
    });
    if (woke) woken();
}

void ActorCell::send(const EnvelopeHeader& header, Draft& draft) {
    const Route* to = route(header.recipient);
    if (to && to->cell) {
        node.deliver_local(*to->cell, header, draft);
        return;
    }
    Letter letter;
    address(letter, header);
    if (to) {
        node.send_remote(letter, draft, to->peer, /*names_checked=*/true);  // as below
    } else {
        node.post(std::move(letter), &draft);
    }
}

void ActorCell::send(Letter&& letter, Draft* draft) {
    const Route* to = letter.origin ? nullptr : route(letter.recipient);
    if (to && to->cell) {
        if (draft) draft->detach(letter.body);
        node.deliver_local(*to->cell, std::move(letter));
    } else if (to) {
        // Both names were checked already: the sender is this actor, whose name the node
        // checked when it adopted it, and a remote route exists only for a name that
        // NodeCore::post checked before it looked the name up.
        node.send_remote(letter, draft ? *draft : *letter.body, to->peer,
                         /*names_checked=*/true);
    } else {
        node.post(std::move(letter), draft);
    }
}

const ActorCell::Route* ActorCell::find_route(std::string_view name_view) {
    last_route_ = nullptr;
    const std::string name(name_view);
    if (auto it = routes_.find(name); it != routes_.end()) {
        if (usable(it->second)) {
            last_route_ = &*it;
            return &it->second;
        }
        routes_.erase(it);  // the name may belong to a new actor, or live elsewhere, by now
    }
    Route route;
    route.generation = node.route_generation();  // before the lookup: a change after it shows
    route.cell = node.find_cell(name);
    if (!route.cell) route.peer = node.known_peer(name);
    if (!route.cell && !route.peer) return nullptr;  // the node looks it up (and may connect)
    // An actor that talks to many names forgets them all now and then.
    constexpr std::size_t max_routes = 256;
    if (routes_.size() == max_routes) routes_.clear();
    last_route_ = &*routes_.insert_or_assign(name, std::move(route)).first;
    return &last_route_->second;
}

bool ActorCell::run() {
    {
        // Remote sends of the turn may wait in their links; they all go out when it ends,
        // before the letters handled are destroyed (a reply must not wait for that) and
        // before this worker takes another cell or sleeps.
        NodeCore::SendBatch batch(node);
        // A turn bounds how long one busy actor keeps a worker from the others.
        constexpr std::size_t turn = 64;
        for (std::size_t handled = 0; handled < turn; ++handled) {
            Letter* letter = mailbox_.take();
            if (!letter) break;
            handle(*letter);
            if (actor->stopping_) {
                finish();
                return false;
            }
        }
    }
    if (!mailbox_.empty()) return true;
    // Dry: the letters handled let go of their bodies, and the cell sleeps unless a letter came
    // meanwhile (then it runs on; else the next letter's push schedules it again).
    return !mailbox_.sleep();
}

void ActorCell::handle(Letter& letter) {
    if (letter.type == start_type) {
        try {
            actor->on_start();
        } catch (const std::exception& e) {
            node.count_handler_failure();
            spdlog::error("actor '{}': on_start threw: {}; stopping it", actor->name(), e.what());
            actor->stopping_ = true;
        }
    } else if (letter.type == stop_type) {
        actor->stopping_ = true;
    } else {
        actor->dispatch(letter);
    }
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
    last_route_ = nullptr;
    routes_.clear();  // cells that cache each other would keep each other alive
    node.forget(actor->name(), this);
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

void ReplyWaiter::deliver(Letter&& letter) {
    {
        std::lock_guard lock(mutex_);
        if (letter_) return;  // only the first answer counts
        letter_ = std::move(letter);
    }
    ready_.notify_one();
}

std::optional<Letter> ReplyWaiter::wait(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    ready_.wait_until(lock, deadline, [&] { return letter_.has_value(); });
    return std::move(letter_);
}

}  // namespace detail
}  // namespace courier
