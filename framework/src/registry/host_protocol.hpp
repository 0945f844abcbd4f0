#pragma once
/// @file
/// The messages between the courierds of a federation (docs/multihost.md): each courierd
/// dials the peers its config lists, over a transport that crosses hosts (its handshake
/// proves the cookie), and subscribes to their names. They travel as the registry's own
/// messages do (registry_protocol.hpp), addressed to `courierd`:
///
///     dialer -> listener: SubscribeHost{dialer's host}              (request)
///     listener -> dialer: HostNames{its host, beat, names, groups}  (answer)
///     then, unsolicited:  HostNameUp, HostNameDown as its names change, GroupChange as
///                         its members join and leave groups, HostBeat every beat
///
/// A host's names are only ever told by that host: a courierd never passes on what it
/// heard from another, so a name's end is told by the one that knows it first. The
/// dialer takes the host as gone when its connection closes or stays silent for its own
/// `host_down` (RegistrySettings), and dials it again.

#include "registry/registry_protocol.hpp"

#include <courier/serialization/message_type.hpp>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace courier::registry {

/// One actor name a host's nodes hold, as that host's courierd tells the others.
struct HostName {
    std::string name;
    std::string node;
    std::int64_t pid = 0;
    std::vector<std::string> endpoints;  ///< the node's (only those that cross hosts serve)
    std::uint64_t incarnation = 0;
    template <class A>
    void serialize(A& a) {
        a(name, node, pid, endpoints, incarnation);
    }
};

/// Request, first on a connection a courierd dialed: tell me your names from now on.
/// Answered with HostNames. The only request a connection from another host may make.
struct SubscribeHost {
    std::string host;  ///< the asker's host name (for the answerer's logs)
    template <class A>
    void serialize(A& a) {
        a(host);
    }
};

/// Answer to SubscribeHost: the answerer's host name, how often it beats, every name its
/// nodes hold now, and their group memberships (as joins, in join order; the members
/// unqualified, as in GroupChange, which tells the changes after).
struct HostNames {
    std::string host;
    std::int64_t beat_ms = 0;
    std::vector<HostName> names;
    std::vector<GroupChange> groups;
    template <class A>
    void serialize(A& a) {
        a(host, beat_ms, names, groups);
    }
};

/// Unsolicited: a name was registered on the sender's host.
struct HostNameUp {
    HostName name;
    template <class A>
    void serialize(A& a) {
        a(name);
    }
};

/// Unsolicited: a name of the sender's host went away (NameDown's reasons).
struct HostNameDown {
    std::string name;
    std::string reason;
    std::uint64_t incarnation = 0;
    template <class A>
    void serialize(A& a) {
        a(name, reason, incarnation);
    }
};

/// Unsolicited, every beat: the sender is alive (and so is the path to it).
struct HostBeat {
    template <class A>
    void serialize(A&) {}
};

}  // namespace courier::registry

COURIER_MESSAGE(courier::registry::SubscribeHost, "courier.registry.SubscribeHost");
COURIER_MESSAGE(courier::registry::HostNames, "courier.registry.HostNames");
COURIER_MESSAGE(courier::registry::HostNameUp, "courier.registry.HostNameUp");
COURIER_MESSAGE(courier::registry::HostNameDown, "courier.registry.HostNameDown");
COURIER_MESSAGE(courier::registry::HostBeat, "courier.registry.HostBeat");
