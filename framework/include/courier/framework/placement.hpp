#pragma once
/// @file
/// Placement: starting a program on another host of the federation, by the host's name,
/// through that host's courierd (Node::place; docs/multihost.md, "Placement"). The host
/// starts only the programs its own config offers (`[registry.placeable.<name>]`), and
/// only for a courierd link whose handshake proved the cookie. What the program is then
/// is a node of that host like any other: its actors' names resolve from everywhere, and
/// monitoring them is how a placer learns that it ended.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace courier {

/// What to start, and where.
struct Placement {
    std::string host;               ///< the host, as its `registry.host` names it
    std::string program;            ///< a name of that host's `[registry.placeable]`
    std::vector<std::string> args;  ///< after the config's own; only if it sets extra_args
    std::chrono::milliseconds timeout{5000};  ///< for the whole exchange
    /// An actor name of the asker's host (its own, say): when that name goes (its actor
    /// stopped, its node died, its host is gone to the other), the placed program gets
    /// SIGKILL, as a local child gets its parent-death signal. Empty: bound to nothing.
    std::string bound_to = {};
};

/// A program started on another host.
struct PlacedProcess {
    std::string host;
    std::int64_t pid = 0;  ///< on that host
};

/// How Node::stop_placed ends a placed program.
enum class StopSignal : std::uint8_t {
    terminate,  ///< SIGTERM: a courier node stops cleanly (its names unregistered)
    kill,       ///< SIGKILL
};

}  // namespace courier
