#pragma once
/// @file
/// Requests: correlation ids, the timer that ends a request nobody answers (cancelled when
/// the answer comes), the requests waiting on each link (failed at once when it breaks),
/// and the waiter a thread outside the actors blocks on (Node::request).

#include "mailbox.hpp"
#include "peer_link.hpp"
#include "reactor.hpp"
#include "request_durations.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace courier::detail {

class NodeCore;

/// A mailbox for one reply, waited on by a thread outside the actors (Node::request).
class ReplyWaiter final : public Mailbox {
  public:
    using Mailbox::deliver;
    void deliver(Letter&& letter) override;
    /// The reply, or nullopt when `deadline` passed first.
    std::optional<Letter> wait(std::chrono::steady_clock::time_point deadline);

  private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::optional<Letter> letter_;
};

class Requests {
  public:
    explicit Requests(NodeCore& node) noexcept : node_(node) {}

    std::uint64_t next_correlation() noexcept { return ++correlation_; }

    /// Sends `request` from outside any actor and blocks until its answer, or until
    /// `timeout` passes (then a letter of request_timeout_type).
    Letter await(Letter request, std::chrono::milliseconds timeout);

    /// Posts the timeout letter for request `correlation` to `actor` after `timeout`,
    /// unless finished() comes first (its answer arrived).
    Reactor::TimerId arm_timeout(const std::string& actor, std::uint64_t correlation,
                                 std::chrono::milliseconds timeout);
    /// The request `correlation` has its answer (a reply, a failure, its timeout) or its
    /// requester stopped: its timer is cancelled and no link waits for it any more.
    void finished(std::uint64_t correlation, Reactor::TimerId timer) noexcept;
    /// A request sent at `sent` got its answer (a reply, a Failure, a DeadLetter; not its
    /// timeout): how long it took goes into durations().
    void answered(std::chrono::steady_clock::time_point sent) noexcept {
        durations_.record(std::chrono::steady_clock::now() - sent);
    }
    const RequestDurations& durations() const noexcept { return durations_; }

    /// `request` left over `peer`: until finished(), the link's failure fails it.
    void sent_over(const EnvelopeHeader& request, const std::shared_ptr<PeerLink>& peer);
    /// `peer` broke (`reason`): every request still waiting on it fails now with
    /// Failure{peer_down}, instead of waiting out its timeout.
    void link_lost(const PeerLink& peer, const std::string& reason);

  private:
    /// A request sent over a link and not finished: whom to tell if the link breaks.
    struct InFlight {
        std::string requester;
        std::string target;
        const PeerLink* peer;
    };
    void forget_in_flight(std::uint64_t correlation) noexcept;

    NodeCore& node_;
    std::atomic<std::uint64_t> correlation_{0};
    std::mutex in_flight_mutex_;
    std::unordered_map<std::uint64_t, InFlight> in_flight_;
    /// in_flight_.size(), read without the lock: most requests never cross a link.
    std::atomic<std::size_t> in_flight_count_{0};
    RequestDurations durations_;
};

}  // namespace courier::detail
