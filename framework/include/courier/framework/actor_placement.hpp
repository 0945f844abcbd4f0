#pragma once
/// @file
/// Actor placement: starting an actor in a running node of another host (or of this one)
/// by a kind that node offers (Node::offer, Node::spawn_on; docs/multihost.md, "Actors
/// on another host"). The offering node's own code says which kinds may be started there
/// and which arguments each takes; the request reaches it over a courier link, so from
/// another host only a node with the cookie can ask (docs/security.md). The actor is then
/// an actor of that node like any other: it answers as `name@host`, a monitor of that
/// name tells when it ended, and Node::stop_placed stops it.

#include <courier/framework/actor.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace courier {

/// An offered kind: makes the setup of a new actor (its handlers, as Node::spawn's setup
/// registers them) from the asker's arguments. It runs in the offering node when a
/// request comes; throwing std::invalid_argument (or any exception) refuses the
/// arguments: the asker gets ErrorCode::refused with its message, and nothing starts.
using OfferedKind =
    std::function<std::function<void(Actor&)>(const std::vector<std::string>& args)>;

/// What to start, and where.
struct ActorPlacement {
    std::string host;  ///< the host, as its `registry.host` names it; empty: this one
    std::string kind;  ///< offered by a node of that host (Node::offer)
    std::string name;  ///< the new actor's name, unique on that host
    std::vector<std::string> args = {};       ///< for the kind's OfferedKind
    std::chrono::milliseconds timeout{5000};  ///< for the whole exchange
    /// An actor name of the asker's host (its own, say): when that name goes (its actor
    /// stopped, its node died, its host is gone to the other), the placed actor is
    /// stopped. Empty: bound to nothing.
    std::string bound_to = {};
};

/// An actor started by Node::spawn_on.
struct PlacedActor {
    std::string host;  ///< empty: this host
    std::string kind;
    std::string name;  ///< its name there
    /// How any node addresses it: `name@host`, or `name` on this host.
    std::string address() const { return host.empty() ? name : name + "@" + host; }
};

}  // namespace courier
