#pragma once
/// @file
/// Messages the framework itself sends to actors. Handle them like any other type.

#include <courier/framework/error.hpp>
#include <courier/serialization/message_type.hpp>

#include <cereal/types/string.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace courier {

namespace detail {
/// An ErrorCode on the wire: one byte, checked when read (an unknown value makes the
/// message undecodable, never an enum out of range).
template <class A>
void save_code(A& a, ErrorCode code) {
    a(static_cast<std::uint8_t>(code));
}
template <class A>
void load_code(A& a, ErrorCode& code) {
    std::uint8_t value = 0;
    a(value);
    if (!is_error_code(value))
        throw std::runtime_error("unknown error code " + std::to_string(value));
    code = static_cast<ErrorCode>(value);
}
}  // namespace detail

/// A message could not be delivered. Sent back to its sender (and counted and logged by
/// the node that found out). For a request, the requester gets Error{unknown_name, ...}
/// or the matching code instead.
struct DeadLetter {
    std::string recipient;                     ///< the name the message was sent to
    std::uint64_t type = 0;                    ///< the wire id of the undelivered message's type
    ErrorCode code = ErrorCode::unknown_name;  ///< unknown_name, no_handler, link_failed...
    std::string reason;
    template <class A>
    void save(A& a) const {
        a(recipient, type);
        detail::save_code(a, code);
        a(reason);
    }
    template <class A>
    void load(A& a) {
        a(recipient, type);
        detail::load_code(a, code);
        a(reason);
    }
};

/// The answer to a request that failed once it had reached its target's node: its handler
/// threw or could not decode it, its actor stopped owing it, or the link to that node
/// broke before the answer came (posted by the requester's own node).
struct Failure {
    ErrorCode code =
        ErrorCode::handler_failed;  ///< handler_failed, bad_message, stopped, peer_down
    std::string message;
    template <class A>
    void save(A& a) const {
        detail::save_code(a, code);
        a(message);
    }
    template <class A>
    void load(A& a) {
        detail::load_code(a, code);
        a(message);
    }
};

/// Why a monitored name went down.
enum class DownReason : std::uint8_t {
    stopped = 1,      ///< its actor stopped (or its node stopped cleanly)
    node_exited = 2,  ///< its node's process ended without stopping it (killed, crashed)
    link_broken = 3,  ///< the link to its node broke; the node may still be alive
    unreachable = 4,  ///< there was no such name when the monitor began, or no way to watch it
};
std::string_view to_string(DownReason reason) noexcept;

/// A monitored name went down (Actor::monitor). Says which one: the registration it
/// watched (node, pid, and the registry's incarnation number, which a name that comes
/// back gets anew), why, and which monitor this ends.
struct Down {
    std::string name;
    DownReason reason = DownReason::unreachable;
    std::string node;               ///< empty when unknown (the name was never found)
    std::int64_t pid = 0;           ///< 0 when unknown
    std::uint64_t incarnation = 0;  ///< 0 when unknown (no registry)
    std::uint64_t monitor = 0;      ///< Monitor::id of the monitor it ends
    std::string detail;             ///< what happened, in words
    template <class A>
    void save(A& a) const {
        a(name, static_cast<std::uint8_t>(reason), node, pid, incarnation, monitor, detail);
    }
    template <class A>
    void load(A& a) {
        std::uint8_t value = 0;
        a(name, value, node, pid, incarnation, monitor, detail);
        if (value < 1 || value > 4)
            throw std::runtime_error("unknown Down reason " + std::to_string(value));
        reason = static_cast<DownReason>(value);
    }
};

/// A name an actor awaits (Actor::await_up) is registered: who holds it now.
struct Up {
    std::string name;
    std::string node;
    std::int64_t pid = 0;
    std::uint64_t incarnation = 0;  ///< the registry's number for this registration
    template <class A>
    void serialize(A& a) {
        a(name, node, pid, incarnation);
    }
};

/// A child actor (spawned by Actor::spawn_child) failed and stopped, sent to its parent:
/// its handler threw and its FailurePolicy is escalate, or it would have restarted more
/// often than its RestartLimit allows, or it could not be built again. Its name is free
/// by the time this comes: the parent may spawn it anew.
struct ChildFailed {
    std::string name;            ///< the child's name
    std::string error;           ///< what failed, in words (the exception's what() included)
    std::uint32_t restarts = 0;  ///< its restarts within the limit's window (0: none)
    template <class A>
    void serialize(A& a) {
        a(name, error, restarts);
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
    // Credit (docs/flow_control.md, "Between processes"):
    std::uint64_t credit = 0;  ///< letters this node may still send before the peer grants more
    std::uint64_t outbox = 0;  ///< letters waiting here for credit
    /// Letters from the peer not yet taken by this node's actors: its credit in use.
    std::uint64_t unreturned = 0;
    std::uint64_t blocked_us = 0;  ///< time this node's senders waited for credit
    template <class A>
    void serialize(A& a) {
        a(peer_node, transport, reason, peer, initiated, frames_sent, bytes_sent, frames_received,
          bytes_received, errors, credit, outbox, unreturned, blocked_us);
    }
};

/// Every actor answers a PingRequest (sent as a request) with a PingReply in its turn,
/// unless it handles PingRequest itself: `courier ping NAME` times the round trip through
/// the actor's mailbox, so an actor that takes no letters shows as one that answers none.
struct PingRequest {
    template <class A>
    void serialize(A&) {}
};
struct PingReply {
    std::string actor;
    std::string node;
    std::int64_t pid = 0;
    template <class A>
    void serialize(A& a) {
        a(actor, node, pid);
    }
};

}  // namespace courier

COURIER_MESSAGE(courier::DeadLetter, "courier.DeadLetter");
COURIER_MESSAGE(courier::Failure, "courier.Failure");
COURIER_MESSAGE(courier::Down, "courier.Down");
COURIER_MESSAGE(courier::Up, "courier.Up");
COURIER_MESSAGE(courier::ChildFailed, "courier.ChildFailed");
COURIER_MESSAGE(courier::PingRequest, "courier.PingRequest");
COURIER_MESSAGE(courier::PingReply, "courier.PingReply");
