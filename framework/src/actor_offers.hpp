#pragma once
/// @file
/// Actor placement's messages and the actor that serves an offered kind (Node::offer,
/// Node::spawn_on; courier/framework/actor_placement.hpp). Private.
///
/// An offer is an ordinary actor, `courier.offer.<kind>`, so a request for it travels as
/// any letter does: resolved by name (`courier.offer.<kind>@host` from another host),
/// over a link whose handshake proved the cookie. It spawns each actor as its child,
/// monitors it (to forget it when it ends) and what it is bound to (to stop it when that
/// goes), and stops on request only the actors it started.

#include <courier/framework/actor_placement.hpp>
#include <courier/serialization/message_type.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace courier::detail {

/// Asks an offer to start an actor: `bound_to` is qualified with the asker's host.
struct SpawnOffered {
    std::string name;
    std::vector<std::string> args;
    std::string bound_to;
    template <class A>
    void serialize(A& a) {
        a(name, args, bound_to);
    }
};

/// Asks an offer to stop an actor it started.
struct StopOffered {
    std::string name;
    template <class A>
    void serialize(A& a) {
        a(name);
    }
};

/// An offer's answer to either: ok, or an ErrorCode and why.
struct OfferAnswer {
    bool ok = false;
    std::uint8_t code = 0;
    std::string error;
    template <class A>
    void serialize(A& a) {
        a(ok, code, error);
    }
};

/// The name of the actor that serves `kind`.
inline std::string offer_name(const std::string& kind) {
    return "courier.offer." + kind;
}

/// The setup of the actor that serves `kind`, making each new actor with `make`.
std::function<void(Actor&)> offer_actor(std::string kind, OfferedKind make);

}  // namespace courier::detail

COURIER_MESSAGE(courier::detail::SpawnOffered, "courier.SpawnOffered");
COURIER_MESSAGE(courier::detail::StopOffered, "courier.StopOffered");
COURIER_MESSAGE(courier::detail::OfferAnswer, "courier.OfferAnswer");
