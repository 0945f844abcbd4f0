#include "requests.hpp"

#include "link_sender.hpp"
#include "local_actors.hpp"
#include "node_core.hpp"
#include "router.hpp"

#include <courier/framework/detail/reply.hpp>

#include <spdlog/spdlog.h>

namespace courier::detail {

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

Letter Requests::await(Letter request, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto waiter = std::make_shared<ReplyWaiter>();
    request.correlation = next_correlation();
    request.flags |= envelope_flags::request;
    request.sender = "$request." + std::to_string(request.correlation);
    const std::string waiter_name = request.sender;
    node_.actors().add(waiter_name, waiter);
    node_.router().post(std::move(request));
    node_.sender().flush();  // a handler that waits for an answer must not hold back its question
    auto answer = waiter->wait(deadline);
    node_.actors().remove(waiter_name);
    if (answer) return std::move(*answer);
    Letter expired;
    expired.type = request_timeout_type;
    return expired;
}

Reactor::TimerId Requests::arm_timeout(const std::string& actor, std::uint64_t correlation,
                                       std::chrono::milliseconds timeout) {
    return node_.reactor().after(timeout, [this, actor, correlation] {
        Letter expired;
        expired.type = request_timeout_type;
        expired.correlation = correlation;
        if (auto box = node_.actors().find(actor)) box->deliver(std::move(expired));
    });
}

void Requests::cancel(Reactor::TimerId timer) noexcept {
    (void)node_.reactor().cancel(timer);
}

void Requests::watch(const std::string& watcher, std::string_view name) {
    auto* registry = node_.registry();
    if (!registry)
        throw SetupError(ErrorCode::unknown_name, "watching needs a node with a registry");
    {
        std::lock_guard lock(watch_mutex_);
        watchers_[std::string(name)].insert(watcher);
    }
    auto status = registry->watch(std::string(name));
    if (!status.ok)
        spdlog::warn("node '{}': cannot watch '{}': {}", node_.name(), name, status.error);
}

void Requests::on_name_down(const registry::NameDown& down) {
    node_.peers().forget(down.name);
    std::set<std::string> watchers;
    {
        std::lock_guard lock(watch_mutex_);
        if (auto it = watchers_.find(down.name); it != watchers_.end()) {
            watchers = std::move(it->second);
            watchers_.erase(it);
        }
    }
    // Local delivery only: this runs on the registry's reader thread, which must not wait
    // for the registry.
    for (const auto& watcher : watchers)
        if (auto box = node_.actors().find(watcher))
            box->deliver(make_letter(Down{down.name, down.reason}, std::string(), watcher));
}

}  // namespace courier::detail
