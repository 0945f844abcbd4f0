#pragma once
/// @file
/// The measurements of courier-failure-times. Each scenario causes one failure a number
/// of times and records, per party, how long after it that party saw what (Results).
/// t0 is taken just before the failure, in the process that causes it (the measuring
/// process's kill(2), or the stopping actor's own clock); t1 when the party sees it;
/// both are CLOCK_MONOTONIC, one clock for every process of the host.
///
/// A new failure is a function here and a call in failure_times.cpp.

#include "failure_results.hpp"

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace courier::bench {
class PrivateRegistry;
}

namespace courier::failure_times {

struct RunOptions {
    std::vector<std::string> transports;
    int rounds = 10;
    /// How long a party may take to see a failure before the round records "never".
    std::chrono::milliseconds deadline{10'000};
    std::filesystem::path runtime_dir;  ///< the private registry's
    std::string log_level = "off";      ///< for the peers (spdlog's level names)
};

/// An actor of the measuring process whose handler throws (FailurePolicy::restart): the
/// time from the throw until its new object handles the letter queued behind. In-process,
/// so measured once.
void measure_actor_throws(const RunOptions& options, Results& results);

/// Over `transport`, in each round: a peer process's actor stops itself, then the peer
/// is killed with SIGKILL; what a requester, a monitor in a node linked to it, a monitor
/// in a node without a link, and the registry see. The pid of each peer started is added
/// to `pids`.
void measure_peer_failures(const std::string& transport, const RunOptions& options,
                           Results& results, std::vector<pid_t>& pids);

/// Over `transport`, in each round: a peer process is stopped with SIGSTOP (it hangs);
/// what a requester, the monitors and the registry see. Only a transport whose links keep
/// a heartbeat (tcp:; the tool's nodes use 100 ms / 500 ms) tells anyone: the others are
/// watched for `hung_watch` in one round and must show nothing.
void measure_peer_hangs(const std::string& transport, const RunOptions& options, Results& results,
                        std::vector<pid_t>& pids);
/// How long a hung peer is watched on a transport without heartbeats.
inline constexpr std::chrono::milliseconds hung_watch{1000};
/// The heartbeat of the tool's nodes, on transports that keep one.
inline constexpr std::chrono::milliseconds heartbeat_interval{100};
inline constexpr std::chrono::milliseconds heartbeat_timeout{500};

/// Over `transport`, with a link between the measuring process's node and a peer's
/// carrying requests: courierd killed with SIGKILL in each round; how soon a new lookup
/// finds each node's name again, and whether a request on the link was lost.
/// `courierd` serves options.runtime_dir and says which courierd to kill.
void measure_registry_death(const std::string& transport, const RunOptions& options,
                            const bench::PrivateRegistry& courierd, Results& results,
                            std::vector<pid_t>& pids);

}  // namespace courier::failure_times
