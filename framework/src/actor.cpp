#include <courier/framework/actor.hpp>
#include <courier/framework/node.hpp>

#include "actor_cell.hpp"
#include "node_core.hpp"
#include "requests.hpp"

#include <spdlog/spdlog.h>

namespace courier {

namespace {
const std::string no_sender;
}

void Actor::post(Letter&& letter, detail::Draft* draft) {
    cell_->send(std::move(letter), draft);
}

void Actor::post(const EnvelopeHeader& header, detail::Draft& draft) {
    cell_->send(header, draft);
}

void Actor::watch(std::string_view name) {
    node_->core_->requests().watch(name_, name);
}

const std::string& Actor::sender() const noexcept {
    return current_ ? current_->sender : no_sender;
}

void Actor::start_request(Letter& letter, std::chrono::milliseconds timeout,
                          std::function<void(Letter&)> complete) {
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
        requests.cancel({pending.timer_when, pending.timer_sequence});
    pending_.clear();
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
            auto complete = std::move(it->second.complete);
            if (letter.type != detail::request_timeout_type)
                core.requests().cancel({it->second.timer_when, it->second.timer_sequence});
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
        if (letter.is_request())
            reply(Failure{undecodable ? ErrorCode::bad_message : ErrorCode::handler_failed,
                          e.what()});
    }
}

}  // namespace courier
