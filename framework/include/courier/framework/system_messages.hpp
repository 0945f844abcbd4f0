#pragma once
/// @file
/// Messages the framework itself sends to actors. Handle them like any other type.

#include <courier/serialization/message_type.hpp>

#include <cereal/types/string.hpp>

#include <cstdint>
#include <string>

namespace courier {

/// A message could not be delivered. Sent back to its sender (and counted and logged by
/// the node that found out). For a request, the requester gets Error{unknown_name, ...}
/// or the matching code instead.
struct DeadLetter {
    std::string recipient;   ///< the name the message was sent to
    std::uint64_t type = 0;  ///< the wire id of the undelivered message's type
    std::uint8_t code = 0;   ///< an ErrorCode: unknown_name, no_handler, link_failed...
    std::string reason;
    template <class A>
    void serialize(A& a) {
        a(recipient, type, code, reason);
    }
};

/// The answer to a request whose handler failed (threw, or could not decode it).
struct Failure {
    std::uint8_t code = 0;  ///< an ErrorCode
    std::string message;
    template <class A>
    void serialize(A& a) {
        a(code, message);
    }
};

/// A watched name went away: its actor stopped or its node's process exited.
struct Down {
    std::string name;
    std::string reason;
    template <class A>
    void serialize(A& a) {
        a(name, reason);
    }
};

/// One open link of a node to another node, as `courier links` shows it.
struct LinkInfo {
    std::string peer_node;  ///< empty until the peer said who it is
    std::string transport;  ///< the scheme
    std::string reason;  ///< why this transport: `default`, `rule "a -> b"`, `override`, `accepted`
    std::string peer;    ///< the transport's description of the other end
    bool initiated = false;  ///< this node connected (and chose the transport)
    std::uint64_t frames_sent = 0, bytes_sent = 0, frames_received = 0, bytes_received = 0;
    std::uint64_t errors = 0;  ///< frames that could not be sent or were refused
    template <class A>
    void serialize(A& a) {
        a(peer_node, transport, reason, peer, initiated, frames_sent, bytes_sent, frames_received,
          bytes_received, errors);
    }
};

}  // namespace courier

COURIER_MESSAGE(courier::DeadLetter, "courier.DeadLetter");
COURIER_MESSAGE(courier::Failure, "courier.Failure");
COURIER_MESSAGE(courier::Down, "courier.Down");
