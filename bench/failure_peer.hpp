#pragma once
/// @file
/// The process courier-failure-times kills: a copy of itself started with `--role peer`,
/// a node whose actors keep the requests they get unanswered (so one is pending when the
/// failure comes), stop themselves when told, or echo. It reports on its report fd
/// (peer_protocol.hpp): `ready`, then `result side=b event=held actor=<name>` for each
/// request it holds and `... event=stopping actor=<name> t0=<ns>` as an actor stops.

#include <courier/framework/node.hpp>

#include <filesystem>
#include <string>

namespace courier::failure_times {

struct PeerOptions {
    std::string transport;
    std::string node;
    std::string replier;  ///< holds requests; its process is killed
    std::string stopper;  ///< holds requests; stops itself on Quit
    std::string echo;     ///< answers Echo: traffic while the registry is away
    int report_fd = -1;
    int control_fd = -1;  ///< end of file ends the process
};

int run_peer(const PeerOptions& options);

/// A node of the measurement: links only over `transport`, registered with the courierd
/// of `runtime_dir` (a restarted one too), signals left to their default action.
NodeOptions node_options(std::string name, const std::string& transport,
                         const std::filesystem::path& runtime_dir);

}  // namespace courier::failure_times
