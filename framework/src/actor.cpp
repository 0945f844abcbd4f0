#include <courier/framework/actor.hpp>
#include <courier/framework/node.hpp>
#include <courier/log.hpp>

#include "actor_cell.hpp"
#include "monitors.hpp"
#include "node_core.hpp"
#include "requests.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

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

Monitor Actor::monitor(std::string_view name) {
    return Monitor{node_->core_->monitors().start(name_, name), std::string(name)};
}

void Actor::demonitor(const Monitor& monitor) {
    node_->core_->monitors().cancel(monitor.id);
}

void Actor::await_up(std::string_view name) {
    node_->core_->monitors().await_up(name_, name);
}

Expected<void, Error> Actor::join(std::string_view group) {
    return node_->core_->groups().join(name_, group);
}

Expected<void, Error> Actor::leave(std::string_view group) {
    return node_->core_->groups().leave(name_, group);
}

Expected<std::vector<GroupMember>, Error> Actor::members(std::string_view group) {
    return node_->core_->groups().members(group);
}

Expected<std::vector<GroupMember>, Error> Actor::watch_group(std::string_view group) {
    return node_->core_->groups().watch(name_, group);
}

void Actor::unwatch_group(std::string_view group) {
    node_->core_->groups().unwatch(name_, group);
}

std::vector<std::string> Actor::pick(const GroupTarget& to, std::string& why) {
    return node_->core_->groups().pick(to, why);
}

void Actor::no_members(const detail::Letter& letter, const std::string& why) {
    node_->core_->dead_letter(letter, ErrorCode::unknown_name, why);
}

const std::string& Actor::sender() const noexcept {
    return current_ ? current_->sender : no_sender;
}

void Actor::start_request(detail::Letter& letter, std::chrono::milliseconds timeout,
                          std::function<void(detail::Letter&)> complete) {
    auto& requests = node_->core_->requests();
    letter.flags |= envelope_flags::request;
    letter.correlation = requests.next_correlation();
    auto timer = requests.arm_timeout(name_, letter.correlation, timeout);
    pending_[letter.correlation] =
        detail::PendingRequest{std::move(complete), timer.due, timer.serial};
}

void Actor::cancel_pending() noexcept {
    auto& requests = node_->core_->requests();
    for (auto& [correlation, pending] : pending_)
        requests.finished(correlation, {pending.timer_when, pending.timer_sequence});
    pending_.clear();
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
    Failure failure{code, reason};
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
            log().error("actor '{}': could not answer a deferred request: {}", name_, e.what());
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
        log().error("actor '{}': could not answer a dropped request: {}", name_, e.what());
    }
}

void Actor::failed(std::string what) {
    // A handler that asked to stop before it threw stops as it asked.
    if (stopping_ || policy() == FailurePolicy::resume) return;
    failure_ = std::move(what);
    stopping_ = true;
}

FailurePolicy Actor::policy() const noexcept {
    return policy_ ? *policy_ : node_->core_->options().actor_failure;
}

void Actor::mailbox_limit(const MailboxLimit& limit) {
    mailbox_limit_ = limit;
    if (cell_) cell_->limit_mailbox(limit);
}

RestartLimit Actor::limit() const noexcept {
    return restart_limit_ ? *restart_limit_ : node_->core_->options().actor_restart_limit;
}

void Actor::spawn_child(std::string name, std::function<void(Actor&)> setup) {
    auto again = detail::FunctionActor::factory(std::move(setup));
    auto first = again();  // before `again` moves: arguments are evaluated in any order
    adopt_child(std::move(name), std::move(first), std::move(again));
}

void Actor::adopt_child(std::string name, std::unique_ptr<Actor> actor,
                        detail::ActorFactory again) {
    node_->core_->adopt(std::move(name), std::move(actor), std::move(again), name_);
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
            auto complete = std::move(it->second.complete);
            core.requests().finished(letter.correlation,
                                     {it->second.timer_when, it->second.timer_sequence});
            pending_.erase(it);
            try {
                complete(letter);
            } catch (const std::exception& e) {
                core.count_handler_failure();
                log().error("actor '{}': reply callback threw: {}", name_, e.what());
                failed(std::string("its callback for a request threw: ") + e.what());
            }
            return;
        }
        // An answer after its timeout (or a timeout after its answer): nobody waits for it.
        if (letter.type != detail::request_timeout_type)
            log().debug("actor '{}': late {} from '{}' dropped", name_,
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
        if (letter.type == type_id_of<DeadLetter>() || letter.type == type_id_of<Down>() ||
            letter.type == type_id_of<ChildFailed>()) {
            log().debug("actor '{}' has no handler for {}", name_, detail::type_name(letter.type));
            return;
        }
        if (letter.type == type_id_of<PingRequest>() && letter.is_request()) {
            reply(PingReply{name_, core.name(), static_cast<std::int64_t>(::getpid())});
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
        log().error("actor '{}': handler for {} from '{}' {}: {}", name_,
                    detail::type_name(letter.type), letter.sender,
                    undecodable ? "could not decode it" : "threw", e.what());
        // A request whose ReplyHandle lives on (or answered already) gets no Failure.
        if (!deferring_ || dropped_while_handling_)
            fail(letter, undecodable ? ErrorCode::bad_message : ErrorCode::handler_failed,
                 e.what());
        deferring_ = nullptr;
        dropped_while_handling_ = false;
        // A letter that cannot be decoded is its sender's fault, not the actor's state's:
        // answered bad_message, it never restarts or stops the actor (a peer could).
        if (!undecodable)
            failed("its handler for " + detail::type_name(letter.type) + " threw: " + e.what());
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

}  // namespace courier
