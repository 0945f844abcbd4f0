#pragma once
/// @file
/// The master's actor, `httpd.master`: hands each accepted socket to the least loaded
/// worker, load being the connections a worker holds open now. It learns of workers by
/// watching their group (a worker that dies leaves it at once, its connections with it),
/// and of closed connections from the workers themselves; it answers their StatsQuery
/// for the /stats page.

#include "messages.hpp"

#include <courier/courier.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <unordered_map>

namespace httpd {

/// Listener -> dispatcher, within the master's process: a connection, just accepted.
struct Accepted {
    courier::Fd socket;
    template <class A>
    void serialize(A& a) {
        a(socket);
    }
};

struct DispatcherOptions {
    /// The workers the supervisor starts: once that many are up, a line says so.
    std::uint64_t workers = 4;
    /// Connections held while no worker is up (at start, or all of them restarting);
    /// more are closed.
    std::uint64_t max_waiting = 1024;
};

class Dispatcher final : public courier::Actor {
  public:
    explicit Dispatcher(DispatcherOptions options) : options_(options) {}

  protected:
    void on_start() override;

  private:
    struct Worker {
        std::int64_t pid = 0;
        bool up = false;
        std::uint64_t open = 0;
        std::uint64_t connections = 0;
        std::uint64_t requests = 0;
        std::uint64_t joins = 0;
    };
    using Workers = std::map<std::string, Worker>;

    void joined(const courier::GroupMember& member);
    void left(const courier::GroupMember& member, std::string_view why);
    void hand(courier::Fd socket);
    /// The worker up with the fewest open connections; of those, the one that was handed
    /// the fewest. end() when none is up.
    Workers::iterator least_loaded();
    void closed(const Closed& closed);
    Stats stats() const;

    DispatcherOptions options_;
    Workers workers_;  ///< by name: a restarted worker keeps its record
    std::unordered_map<std::uint64_t, std::string> owners_;  ///< open connection -> worker
    std::deque<courier::Fd> waiting_;
    std::uint64_t next_id_ = 1;
    std::uint64_t accepted_ = 0;
    bool all_up_said_ = false;
};

}  // namespace httpd

COURIER_MESSAGE(httpd::Accepted, "prefork_httpd.Accepted");
