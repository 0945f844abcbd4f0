#include "requests.hpp"

#include "link_sender.hpp"
#include "local_actors.hpp"
#include "node_core.hpp"
#include "router.hpp"

#include <courier/framework/detail/reply.hpp>

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

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
    const auto sent = std::chrono::steady_clock::now();
    const auto deadline = sent + timeout;
    auto waiter = std::make_shared<ReplyWaiter>();
    request.correlation = next_correlation();
    request.flags |= envelope_flags::request;
    const std::uint64_t correlation = request.correlation;
    request.sender = "$request." + std::to_string(correlation);
    const std::string waiter_name = request.sender;
    node_.actors().add(waiter_name, waiter);
    // A full mailbox's refusal or a wait for room in vain comes back to the waiter as a
    // DeadLetter: the answer below.
    (void)node_.router().post_outside(std::move(request),
                                      std::min(timeout, node_.options().send_timeout));
    node_.sender().flush();  // a handler that waits for an answer must not hold back its question
    auto answer = waiter->wait(deadline);
    node_.actors().remove(waiter_name);
    forget_in_flight(correlation);
    if (answer) {
        answered(sent);
        return std::move(*answer);
    }
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

void Requests::finished(std::uint64_t correlation, Reactor::TimerId timer) noexcept {
    (void)node_.reactor().cancel(timer);
    forget_in_flight(correlation);
}

// ---- Requests waiting on a link --------------------------------------------------------

void Requests::sent_over(const EnvelopeHeader& request, const std::shared_ptr<PeerLink>& peer) {
    {
        std::lock_guard lock(in_flight_mutex_);
        in_flight_.insert_or_assign(
            request.correlation,
            InFlight{std::string(request.sender), std::string(request.recipient), peer.get()});
        in_flight_count_.store(in_flight_.size(), std::memory_order_relaxed);
    }
    // Peers::drop marks the link broken before it calls link_lost: if it looked before
    // this request was in, the mark is seen here, and the request fails all the same.
    if (peer->broken) link_lost(*peer, "the link closed as the request left");
}

void Requests::forget_in_flight(std::uint64_t correlation) noexcept {
    if (in_flight_count_.load(std::memory_order_relaxed) == 0) return;
    std::lock_guard lock(in_flight_mutex_);
    in_flight_.erase(correlation);
    in_flight_count_.store(in_flight_.size(), std::memory_order_relaxed);
}

void Requests::link_lost(const PeerLink& peer, const std::string& reason) {
    std::vector<std::pair<std::uint64_t, InFlight>> lost;
    {
        std::lock_guard lock(in_flight_mutex_);
        for (auto it = in_flight_.begin(); it != in_flight_.end();) {
            if (it->second.peer == &peer) {
                lost.emplace_back(it->first, std::move(it->second));
                it = in_flight_.erase(it);
            } else {
                ++it;
            }
        }
        in_flight_count_.store(in_flight_.size(), std::memory_order_relaxed);
    }
    const std::string node = peer.who();
    // Told as the answer would have come: a reply with the request's correlation, in the
    // requester's mailbox. An answer that beat it wins; this one is then dropped as late.
    for (auto& [correlation, request] : lost) {
        Letter failed =
            make_letter(Failure{ErrorCode::peer_down,
                                "request to '" + request.target + "' failed: the link to " + node +
                                    " broke before it was answered (" + reason + ")"},
                        request.target, request.requester);
        failed.flags = envelope_flags::reply;
        failed.correlation = correlation;
        if (auto box = node_.actors().find(request.requester)) box->deliver(std::move(failed));
    }
}

}  // namespace courier::detail
