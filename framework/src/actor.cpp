#include <courier/framework/actor.hpp>
#include <courier/framework/node.hpp>

#include "actor_cell.hpp"
#include "node_core.hpp"

#include <spdlog/spdlog.h>

namespace courier {

namespace {
const std::string no_sender;
}

void Actor::post(Letter letter) {
    node_->post(std::move(letter));
}

void Actor::watch(std::string_view name) {
    node_->core_->watch(name_, name);
}

const std::string& Actor::sender() const noexcept {
    return current_ ? current_->sender : no_sender;
}

std::uint64_t Actor::start_request(Letter& letter, std::chrono::milliseconds timeout) {
    auto& core = *node_->core_;
    letter.flags |= envelope_flags::request;
    letter.correlation = core.next_correlation();
    core.arm_timeout(name_, letter.correlation, timeout);
    return letter.correlation;
}

void Actor::dispatch(Letter& letter) {
    auto& core = *node_->core_;
    current_ = &letter;
    struct Reset {
        Letter*& current;
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

    auto handler = handlers_.find(letter.type);
    if (handler == handlers_.end()) {
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
        if (letter.is_request())
            reply(Failure{static_cast<std::uint8_t>(undecodable ? ErrorCode::bad_message
                                                                : ErrorCode::handler_failed),
                          e.what()});
    }
}

namespace detail {

ActorCell::ActorCell(NodeCore& owner, std::unique_ptr<Actor> a)
    : node(owner), actor(std::move(a)) {}

void ActorCell::deliver(Letter letter) {
    mailbox.enqueue(std::move(letter));
    if (closed.load()) {
        bounce_all();
        return;
    }
    kick();
}

void ActorCell::kick() {
    if (!scheduled.exchange(true)) node.scheduler().schedule(shared_from_this());
}

void ActorCell::run() {
    // A batch bounds how long one busy actor keeps a worker from the others.
    constexpr int batch = 64;
    Letter letter;
    for (int i = 0; i < batch && !closed.load(std::memory_order_relaxed); ++i) {
        if (!mailbox.try_dequeue(letter)) break;
        if (letter.type == start_type) {
            try {
                actor->on_start();
            } catch (const std::exception& e) {
                node.count_handler_failure();
                spdlog::error("actor '{}': on_start threw: {}; stopping it", actor->name(),
                              e.what());
                actor->stopping_ = true;
            }
        } else if (letter.type == stop_type) {
            actor->stopping_ = true;
        } else {
            actor->dispatch(letter);
        }
        if (actor->stopping_) {
            finish();
            return;
        }
    }
    scheduled.store(false);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (mailbox.size_approx() > 0 && !closed.load() && !scheduled.exchange(true))
        node.scheduler().schedule(shared_from_this());
}

void ActorCell::finish() {
    closed.store(true);
    try {
        actor->on_stop();
    } catch (const std::exception& e) {
        node.count_handler_failure();
        spdlog::error("actor '{}': on_stop threw: {}", actor->name(), e.what());
    }
    node.forget(actor->name(), this);
    bounce_all();
}

void ActorCell::bounce_all() {
    Letter letter;
    while (mailbox.try_dequeue(letter)) {
        if (letter.type == start_type || letter.type == stop_type ||
            letter.type == request_timeout_type)
            continue;
        node.dead_letter(letter, ErrorCode::stopped, "actor '" + actor->name() + "' has stopped");
    }
}

void ReplyWaiter::deliver(Letter letter) {
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
