#pragma once
/// @file
/// The messages between nodes (and the `courier` CLI) and the per-host registry daemon
/// `courierd`. They travel as ordinary courier envelopes over a `unix:` link to the
/// registry's socket, addressed to `courierd`; each request carries the request flag
/// and a correlation id, and its answer the reply flag and the same id. `NameDown`
/// arrives unsolicited (correlation 0) for names a connection watches, `NameUp` for names
/// it looked up in vain.
/// docs/protocol.md describes the exchange.

#include "node_protocol.hpp"

#include <courier/framework/group.hpp>
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
/// `name@host` looks on that host only; a plain name on this host first, then on the peer
/// hosts of the federation in the order the config lists them.
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

/// Answer to Lookup and Watch. `name` is the name as asked: `actor`, or `actor@host`.
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
    /// Empty for a name of this host. Else the host of the federation whose nodes hold it
    /// (docs/multihost.md); `node` is then `<node>@<host>`, unique across hosts, and only
    /// a transport that crosses hosts reaches it.
    std::string host;
    template <class A>
    void serialize(A& a) {
        a(found, name, node, pid, endpoints, incarnation, notify_up, host);
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
/// The name's host (name@host) went away: its courierd's connection closed or went silent.
inline constexpr const char* down_host_lost = "host lost";

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

// ---- Groups (docs/groups.md) -----------------------------------------------------------

/// One member of a group: the public type (an actor's name, its node and pid).
using courier::GroupMember;

/// Makes `member`, an actor name this connection's node registered, a member of `group`
/// (the group exists while it has members). Answered with Status; joining twice is no
/// error. The member leaves when it leaves, when its name is unregistered, or when its
/// node's connection closes; the group's watchers get a GroupChange for each.
struct JoinGroup {
    std::string group;
    std::string member;
    template <class A>
    void serialize(A& a) {
        a(group, member);
    }
};

/// Takes `member` (a name of this connection's node) out of `group`. Answered with
/// Status; it fails when the member is not in the group.
struct LeaveGroup {
    std::string group;
    std::string member;
    template <class A>
    void serialize(A& a) {
        a(group, member);
    }
};

/// Asks for a group's members. Answered with GroupList (empty: no such group).
struct ListGroup {
    std::string group;
    template <class A>
    void serialize(A& a) {
        a(group);
    }
};

/// As ListGroup, and from then on this connection gets a GroupChange for every join and
/// leave in the group, sent after the answer. Answered with GroupList; watching twice is
/// no error.
struct WatchGroup {
    std::string group;
    template <class A>
    void serialize(A& a) {
        a(group);
    }
};

/// Ends a WatchGroup. Answered with Status (ok also when it did not watch).
struct UnwatchGroup {
    std::string group;
    template <class A>
    void serialize(A& a) {
        a(group);
    }
};

/// Asks for every group and its members (`courier groups`). Answered with GroupDirectory.
struct ListGroups {
    template <class A>
    void serialize(A&) {}
};

/// Answer to ListGroup and WatchGroup: the members, in the order they joined.
struct GroupList {
    std::string group;
    std::vector<GroupMember> members;
    /// For WatchGroup: this connection now gets the group's GroupChanges. False when it
    /// watches as many groups as courierd keeps for one (max_watched_groups), or the
    /// group name is invalid (then `error` says why).
    bool watching = false;
    std::string error;
    template <class A>
    void serialize(A& a) {
        a(group, members, watching, error);
    }
};

/// Answer to ListGroups, by group name.
struct GroupDirectory {
    std::vector<GroupList> groups;
    template <class A>
    void serialize(A& a) {
        a(groups);
    }
};

/// Unsolicited, to each connection watching `group`: `member` joined (joined = true) or
/// left it, and why it left.
struct GroupChange {
    std::string group;
    GroupMember member;
    bool joined = false;
    std::string reason;  ///< when it left: group_left, down_unregistered, down_node_exited
    template <class A>
    void serialize(A& a) {
        a(group, member, joined, reason);
    }
};
/// GroupChange's reason for a member that left by LeaveGroup.
inline constexpr const char* group_left = "left";

// Inspection: a tool (`courier links`, `ps`, `top`) asks what a node says of itself. The
// question goes through courierd, over the connection every node keeps with it, so every
// registered node can be asked, whatever it listens on (a node linked only by pipes
// listens on nothing), and asking makes no link of any transport.

/// Asks what node `node` says of itself. Answered with Inspection.
struct InspectNode {
    std::string node;
    template <class A>
    void serialize(A& a) {
        a(node);
    }
};

/// Unsolicited, courierd to a node: answer question `ask` with Inspected.
struct Inspect {
    std::uint64_t ask = 0;
    template <class A>
    void serialize(A& a) {
        a(ask);
    }
};

/// A node's answer to Inspect `ask`: its links, counters and mailboxes. Answered with
/// Status (refused when the question was not asked of this connection).
struct Inspected {
    std::uint64_t ask = 0;
    LinkList list;
    template <class A>
    void serialize(A& a) {
        a(ask, list);
    }
};

/// Answer to InspectNode: the node's list, or why there is none (no such node, too many
/// questions waiting, no answer in time, the node went away).
struct Inspection {
    bool ok = false;
    std::string error;
    LinkList list;
    template <class A>
    void serialize(A& a) {
        a(ok, error, list);
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
COURIER_MESSAGE(courier::registry::JoinGroup, "courier.registry.JoinGroup");
COURIER_MESSAGE(courier::registry::LeaveGroup, "courier.registry.LeaveGroup");
COURIER_MESSAGE(courier::registry::ListGroup, "courier.registry.ListGroup");
COURIER_MESSAGE(courier::registry::WatchGroup, "courier.registry.WatchGroup");
COURIER_MESSAGE(courier::registry::UnwatchGroup, "courier.registry.UnwatchGroup");
COURIER_MESSAGE(courier::registry::ListGroups, "courier.registry.ListGroups");
COURIER_MESSAGE(courier::registry::GroupList, "courier.registry.GroupList");
COURIER_MESSAGE(courier::registry::GroupDirectory, "courier.registry.GroupDirectory");
COURIER_MESSAGE(courier::registry::GroupChange, "courier.registry.GroupChange");
COURIER_MESSAGE(courier::registry::InspectNode, "courier.registry.InspectNode");
COURIER_MESSAGE(courier::registry::Inspect, "courier.registry.Inspect");
COURIER_MESSAGE(courier::registry::Inspected, "courier.registry.Inspected");
COURIER_MESSAGE(courier::registry::Inspection, "courier.registry.Inspection");
