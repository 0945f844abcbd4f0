#pragma once
/// @file
/// The messages between nodes (and the `courier` CLI) and the per-host registry daemon
/// `courierd`. They travel as ordinary courier envelopes over a `unix:` link to the
/// registry's socket, addressed to `courierd`; each request carries the request flag
/// and a correlation id, and its answer the reply flag and the same id. `NameDown`
/// arrives unsolicited (correlation 0) for names a connection watches, `NameUp` for names
/// it looked up in vain.
/// docs/protocol.md describes the exchange.

#include <courier/serialization/message_type.hpp>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace courier::registry {

/// The recipient name of every request to the registry.
inline constexpr const char* daemon_name = "courierd";

/// Makes this connection a node: unique node name, its pid and the endpoints it listens
/// on. Answered with Status. Until the connection closes, the node is alive.
struct RegisterNode {
    std::string node;
    std::int64_t pid = 0;
    std::vector<std::string> endpoints;
    template <class A>
    void serialize(A& a) {
        a(node, pid, endpoints);
    }
};

/// Claims an actor name for the registered node of this connection. Answered with
/// Status; fails if a live node holds the name.
struct RegisterName {
    std::string name;
    template <class A>
    void serialize(A& a) {
        a(name);
    }
};

/// Gives up a name (the actor stopped). Answered with Status. Watchers get NameDown.
struct UnregisterName {
    std::string name;
    template <class A>
    void serialize(A& a) {
        a(name);
    }
};

/// Resolves a name to its node. Answered with Location. One that finds nothing at once
/// (wait_ms 0) also asks for a NameUp when the name is registered (Location::notify_up).
struct Lookup {
    std::string name;
    /// 0: answer at once. Otherwise wait up to this long for the name to be registered.
    std::int64_t wait_ms = 0;
    template <class A>
    void serialize(A& a) {
        a(name, wait_ms);
    }
};

/// Asks for a NameDown when `name` goes away (unregistered, or its node's connection
/// closed). Answered with the name's Location (who is watched); a name not registered now
/// gets found = false and its NameDown at once.
struct Watch {
    std::string name;
    template <class A>
    void serialize(A& a) {
        a(name);
    }
};

/// Asks for every node and its names. Answered with NodeList.
struct ListNodes {
    template <class A>
    void serialize(A&) {}
};

/// Answer to RegisterNode, RegisterName and UnregisterName.
struct Status {
    bool ok = true;
    std::string error;  ///< why not, when !ok
    template <class A>
    void serialize(A& a) {
        a(ok, error);
    }
};

/// Answer to Lookup and Watch.
struct Location {
    bool found = false;
    std::string name;
    std::string node;
    std::int64_t pid = 0;
    std::vector<std::string> endpoints;
    /// Which registration of the name this is: courierd numbers every registration, never
    /// twice on a host (the numbers start from the clock when courierd starts), so a name
    /// that died and came back has a new one.
    std::uint64_t incarnation = 0;
    /// Not found, and this connection gets a NameUp when the name is registered. False
    /// when the connection has as many such promises as courierd keeps for one.
    bool notify_up = false;
    template <class A>
    void serialize(A& a) {
        a(found, name, node, pid, endpoints, incarnation, notify_up);
    }
};

struct NodeInfo {
    std::string node;
    std::int64_t pid = 0;
    std::vector<std::string> endpoints;
    std::vector<std::string> names;
    template <class A>
    void serialize(A& a) {
        a(node, pid, endpoints, names);
    }
};

/// Answer to ListNodes.
struct NodeList {
    std::vector<NodeInfo> nodes;
    template <class A>
    void serialize(A& a) {
        a(nodes);
    }
};

/// Unsolicited: a watched name went away. `node`, `pid` and `incarnation` say which
/// registration went (empty and 0 for a name that was not registered).
struct NameDown {
    std::string name;
    std::string reason;  ///< down_unregistered, down_node_exited, down_not_registered
    std::string node;
    std::int64_t pid = 0;
    std::uint64_t incarnation = 0;
    template <class A>
    void serialize(A& a) {
        a(name, reason, node, pid, incarnation);
    }
};
/// NameDown's reasons.
inline constexpr const char* down_unregistered = "unregistered";
inline constexpr const char* down_node_exited = "node exited";
inline constexpr const char* down_not_registered = "not registered";

/// Unsolicited, once: a name this connection looked up in vain is registered now. (A
/// node drops it from its cache of unknown names and routes to it again.)
struct NameUp {
    std::string name;
    std::string node;               ///< the node that registered it
    std::int64_t pid = 0;           ///< that node's pid
    std::uint64_t incarnation = 0;  ///< the registration (Location::incarnation)
    template <class A>
    void serialize(A& a) {
        a(name, node, pid, incarnation);
    }
};

}  // namespace courier::registry

COURIER_MESSAGE(courier::registry::RegisterNode, "courier.registry.RegisterNode");
COURIER_MESSAGE(courier::registry::RegisterName, "courier.registry.RegisterName");
COURIER_MESSAGE(courier::registry::UnregisterName, "courier.registry.UnregisterName");
COURIER_MESSAGE(courier::registry::Lookup, "courier.registry.Lookup");
COURIER_MESSAGE(courier::registry::Watch, "courier.registry.Watch");
COURIER_MESSAGE(courier::registry::ListNodes, "courier.registry.ListNodes");
COURIER_MESSAGE(courier::registry::Status, "courier.registry.Status");
COURIER_MESSAGE(courier::registry::Location, "courier.registry.Location");
COURIER_MESSAGE(courier::registry::NodeList, "courier.registry.NodeList");
COURIER_MESSAGE(courier::registry::NameDown, "courier.registry.NameDown");
COURIER_MESSAGE(courier::registry::NameUp, "courier.registry.NameUp");
