#pragma once
/// @file
/// Groups of actors (docs/groups.md): an actor joins and leaves named groups
/// (Actor::join), membership is host-wide through the registry (and spans the hosts of a
/// federation, docs/multihost.md), and a group is a send
/// target: one member by policy, or all of them. Joins and leaves arrive as messages to
/// the actors that watch the group (Actor::watch_group); a member that stops or whose
/// process dies leaves its groups at once.

#include <courier/serialization/message_type.hpp>

#include <cereal/types/string.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace courier {

/// One member of a group: an actor, and the node and process it lives in.
struct GroupMember {
    /// The actor's name, unique on the host; `name@host` for a member of another host
    /// (and its node `node@host`), which is also how a message reaches it.
    std::string name;
    std::string node;
    std::int64_t pid = 0;  ///< 0 for a member of another host
    template <class A>
    void serialize(A& a) {
        a(name, node, pid);
    }
    friend bool operator==(const GroupMember&, const GroupMember&) = default;
};

/// Which members a message to a group goes to.
enum class Pick : std::uint8_t {
    round_robin,  ///< one member, each in turn (the turns are this node's)
    random,       ///< one member, chosen at random
    all,          ///< every member (a broadcast; not for a request)
};

/// A group as the target of a send or a request: `send(group("workers"), job)`.
struct GroupTarget {
    std::string name;
    Pick pick = Pick::round_robin;
};

inline GroupTarget group(std::string_view name, Pick pick = Pick::round_robin) {
    return GroupTarget{std::string(name), pick};
}

/// Why a member left a group.
enum class LeaveReason : std::uint8_t {
    left = 1,         ///< it called leave()
    stopped = 2,      ///< its actor stopped (or its node stopped cleanly)
    node_exited = 3,  ///< its process ended without stopping it (killed, crashed)
    /// the registry restarted and the member's node has not joined it again (it may yet:
    /// then a MemberJoined follows)
    registry_restarted = 4,
    /// its host's registry is unreachable: its courierd is gone or cut off (a member of
    /// another host, docs/multihost.md)
    host_lost = 5,
};
std::string_view to_string(LeaveReason reason) noexcept;

/// To an actor that watches `group`: `member` joined it.
struct MemberJoined {
    std::string group;
    GroupMember member;
    template <class A>
    void serialize(A& a) {
        a(group, member);
    }
};

/// To an actor that watches `group`: `member` left it.
struct MemberLeft {
    std::string group;
    GroupMember member;
    LeaveReason reason = LeaveReason::left;
    template <class A>
    void save(A& a) const {
        a(group, member, static_cast<std::uint8_t>(reason));
    }
    template <class A>
    void load(A& a) {
        std::uint8_t value = 0;
        a(group, member, value);
        // Checked as an ErrorCode is: never an enum out of range.
        if (value < 1 || value > 5) throw std::runtime_error("unknown leave reason");
        reason = static_cast<LeaveReason>(value);
    }
};

}  // namespace courier

COURIER_MESSAGE(courier::MemberJoined, "courier.MemberJoined");
COURIER_MESSAGE(courier::MemberLeft, "courier.MemberLeft");
