#pragma once
/// @file
/// Placement (docs/multihost.md): a node starts a program on another host, through that
/// host's courierd, which starts only the programs its config names
/// (`[registry.placeable.<name>]`). The node asks its own courierd where the other
/// host's courierd listens, then dials it there over a transport that crosses hosts (its
/// handshake proves the cookie), asks once, and closes:
///
///     node -> its courierd:        LookupHost{host}               (request)
///     its courierd -> node:        HostAddress{found, endpoint}   (answer)
///     node -> the host's courierd: PlaceProgram{...} or StopPlaced{pid}   (request)
///     the host's courierd -> node: Placed, or Status                    (answer)

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <courier/serialization/message_type.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace courier::registry {

/// Request to a node's own courierd: where does host `host`'s courierd listen?
struct LookupHost {
    std::string host;
    template <class A>
    void serialize(A& a) {
        a(host);
    }
};

/// Answer to LookupHost.
struct HostAddress {
    bool found = false;
    std::string error;     ///< why not, when !found
    std::string endpoint;  ///< its courierd's federation listener
    std::string own_host;  ///< the answerer's host: the asker's own, for `name@host`
    template <class A>
    void serialize(A& a) {
        a(found, error, endpoint, own_host);
    }
};

/// Request to another host's courierd: start its program `program` (a name of its
/// `[registry.placeable]`), with `args` after the config's arguments (only if the config
/// allows extra arguments). Answered with Placed.
struct PlaceProgram {
    std::string program;
    std::vector<std::string> args;
    std::string asker;  ///< who asks, for the answerer's log
    /// "name@host": the program gets SIGKILL when the answerer learns that this name went
    /// (its actor stopped, its node died, its host is gone); refused if it is not up
    /// there now. Empty: bound to nothing.
    std::string bound_to;
    template <class A>
    void serialize(A& a) {
        a(program, args, asker, bound_to);
    }
};

/// Answer to PlaceProgram.
struct Placed {
    bool ok = false;
    /// Why not, when !ok: an ErrorCode (refused: the config does not allow it; os_error:
    /// the program could not be started), and a sentence.
    std::uint8_t code = 0;
    std::string error;
    std::int64_t pid = 0;  ///< the started process, on the answerer's host
    template <class A>
    void serialize(A& a) {
        a(ok, code, error, pid);
    }
};

/// Request to another host's courierd: stop process `pid`, which it placed and which
/// still runs, with SIGTERM (or SIGKILL when `kill`). Answered with Status.
struct StopPlaced {
    std::int64_t pid = 0;
    std::string asker;
    bool kill = false;
    template <class A>
    void serialize(A& a) {
        a(pid, asker, kill);
    }
};

}  // namespace courier::registry

COURIER_MESSAGE(courier::registry::LookupHost, "courier.registry.LookupHost");
COURIER_MESSAGE(courier::registry::HostAddress, "courier.registry.HostAddress");
COURIER_MESSAGE(courier::registry::PlaceProgram, "courier.registry.PlaceProgram");
COURIER_MESSAGE(courier::registry::Placed, "courier.registry.Placed");
COURIER_MESSAGE(courier::registry::StopPlaced, "courier.registry.StopPlaced");
