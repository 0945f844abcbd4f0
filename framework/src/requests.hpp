#pragma once
/// @file
/// Requests and watches: correlation ids, the timer that ends a request nobody answers
/// (cancelled when the answer comes), the waiter a thread outside the actors blocks on
/// (Node::request), and the Down letters for watched names.

#include "mailbox.hpp"
#include "reactor.hpp"

#include "registry/registry_protocol.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

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
    /// unless cancel() comes first (its answer arrived).
    Reactor::TimerId arm_timeout(const std::string& actor, std::uint64_t correlation,
                                 std::chrono::milliseconds timeout);
    void cancel(Reactor::TimerId timer) noexcept;

    /// `watcher` (an actor of this node) gets a Down when `name` goes away.
    void watch(const std::string& watcher, std::string_view name);
    /// The registry says `name` went away: its watchers get Down; routes to it are forgotten.
    void on_name_down(const registry::NameDown& down);

  private:
    NodeCore& node_;
    std::atomic<std::uint64_t> correlation_{0};
    std::mutex watch_mutex_;
    std::map<std::string, std::set<std::string>, std::less<>> watchers_;  ///< name -> actors
};

}  // namespace courier::detail
