#pragma once
/// @file
/// One connection courierd serves (registry_server.cpp): its link, who is at the other
/// end, and the answers its socket could not take yet. courierd never waits for a
/// client: what does not fit waits here, up to a bound the server sets.

#include <courier/transports/link.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace courier::registry {

/// What it is to the protocol (a node or the CLI) is the NameTable's to know. Those of the
/// federation come from another host's courierd (accepted on the hosts' listener) or go
/// to one (dialed).
struct ServerConnection {
    enum class Kind { local, from_host, to_host };
    Kind kind = Kind::local;
    std::size_t peer_index = 0;  ///< to_host: the peer's place in the config's list
    std::unique_ptr<Link> link;
    std::string peer;       ///< for logs
    std::int64_t pid = 0;   ///< the process at the other end (SO_PEERCRED), 0 unknown
    bool pump_due = false;  ///< a timer of the server's will pump it

    /// Queues `frame` behind what waits; false, queuing nothing, when that would leave more
    /// than `most` bytes waiting (a client that does not read).
    bool queue(std::span<const std::byte> frame, std::size_t most);
    /// Writes what the socket takes now; true when nothing is left. Throws what the link
    /// throws (the connection is broken).
    bool pump();
    std::size_t waiting() const noexcept { return unsent_bytes_; }

  private:
    std::deque<std::vector<std::byte>> unsent_;
    std::size_t unsent_bytes_ = 0;
};

/// The pid of the process at the other end of a local connection (a unix: stream, whose
/// poll descriptor is its socket): SO_PEERCRED; 0 when unknown.
std::int64_t peer_pid_of(const Link& link);

}  // namespace courier::registry
