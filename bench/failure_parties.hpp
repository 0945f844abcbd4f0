#pragma once
/// @file
/// The parties of courier-failure-times: the peer process it makes fail, and the nodes of
/// the measuring process that watch it (one linked to the peer, one not), with what each
/// of them saw and when.

#include "failure_scenarios.hpp"

#include <courier/fd.hpp>
#include <courier/framework/node.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace courier::failure_times {

/// Something a party saw about a name, and when (CLOCK_MONOTONIC, ns).
struct Event {
    std::string party;    ///< "request", "linked monitor", "unlinked monitor", "registry"
    std::string name;     ///< the name it is about
    std::string outcome;  ///< the error code, Down reason, NameDown reason
    std::uint64_t at_ns = 0;
};

/// What the parties saw, from any thread, waited on with a deadline.
class Events {
  public:
    void put(Event event);
    /// The first event of `party` about `name`, taken out; nullopt once `within` passed.
    std::optional<Event> take(const std::string& party, const std::string& name,
                              std::chrono::milliseconds within);

  private:
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::vector<Event> events_;
};

/// A peer process (failure_peer.hpp): a copy of this program, which reports on a pipe
/// (peer_protocol.hpp) and ends at the end of its control pipe. Ended and reaped if still
/// running when it goes (ChildProcess), and killed if this process dies.
class Peer {
  public:
    /// Starts it with `args` (its --role options) on `options.runtime_dir`'s registry:
    /// as a plain process, or with `spawner` as `spawner`'s child, linked to it
    /// (Node::spawn_process: the pipe: transport).
    Peer(std::vector<std::string> args, const RunOptions& options, Node* spawner = nullptr);

    pid_t pid() const noexcept { return child_.pid(); }
    /// The fields of its next report of `event` ("ready" for its ready line). Throws
    /// std::runtime_error if it reports an error, ends, or says nothing within `within`.
    std::map<std::string, std::string> await(const std::string& event,
                                             std::chrono::milliseconds within);
    /// Ends it (end of file on its control pipe) and reaps it; true if it exited with 0.
    bool finish(std::chrono::milliseconds within);
    /// Reaps it after a kill.
    void reap(std::chrono::milliseconds within);

  private:
    /// Reads what the peer said; false at the end of its report pipe.
    bool read();

    Fd report_, control_;
    ChildProcess child_;
    std::string partial_;
    std::vector<std::string> lines_;  ///< read, not yet awaited
    bool ended_ = false;
};

/// The watching side in the measuring process, over one transport: node A, whose
/// requests and monitor go over a link to the peer, and node C, whose monitor learns
/// from the registry alone. Their actors report to `events`.
class Observers {
  public:
    Observers(const std::string& transport, const RunOptions& options, Events& events);
    ~Observers();
    Observers(const Observers&) = delete;
    Observers& operator=(const Observers&) = delete;

    Node& linked() noexcept { return linked_; }
    /// The name of node A's watcher actor (a name of node A, for lookups).
    const std::string& linked_watcher() const noexcept { return linked_watcher_; }
    /// Both watchers monitor `name`; returns once both monitors are set up. Throws
    /// std::runtime_error when a watcher does not answer.
    void monitor(const std::string& name);
    /// Starts a thread of node A's that requests from `name` and reports its outcome as
    /// party "request". Joined before the Observers go.
    void ask(const std::string& name);

  private:
    Events& events_;
    std::string linked_watcher_, unlinked_watcher_;
    Node linked_, unlinked_;
    std::vector<std::thread> askers_;
};

}  // namespace courier::failure_times
