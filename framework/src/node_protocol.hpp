#pragma once
/// @file
/// The messages between nodes that are not for actors: the first frame on every link, the
/// heartbeat, credit grants, and the query `courier ps` and `courier links` send to a node.
/// Internal: tools/courier speaks it too.

#include <courier/framework/mailbox_limit.hpp>
#include <courier/framework/node_stats.hpp>
#include <courier/framework/system_messages.hpp>
#include <courier/serialization/message_type.hpp>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace courier {

/// First frame on every link between two nodes: who is on the other end.
struct Hello {
    std::string node;
    template <class A>
    void serialize(A& a) {
        a(node);
    }
};

/// Sent on a link that has sent nothing for a while, on transports with heartbeat
/// settings (heartbeats.hpp): it says this end lives. It carries nothing and is not
/// delivered to any actor.
struct Heartbeat {
    template <class A>
    void serialize(A&) {}
};

/// Grants credit on a link (link_credit.hpp): the sender may have sent, in all since the
/// link opened, `letters` credited letters, and start one within `bytes` bytes of them.
/// Cumulative, so a grant is never added twice. Not delivered to any actor, and never
/// held back.
struct Credit {
    std::uint64_t letters = 0;
    std::uint64_t bytes = 0;
    template <class A>
    void serialize(A& a) {
        a(letters, bytes);
    }
};

/// The recipient of the frames a node sends the node at the other end of a link, not any
/// of its actors (Hello, Heartbeat, Credit); never registered.
inline constexpr const char* node_service_name = "$node";

/// The dead letters of a node to one name for one reason (DeadLetterLog keeps them).
struct DeadLetterCount {
    std::string recipient;
    ErrorCode code = ErrorCode::unknown_name;
    std::uint64_t count = 0;
    template <class A>
    void save(A& a) const {
        a(recipient);
        detail::save_code(a, code);
        a(count);
    }
    template <class A>
    void load(A& a) {
        a(recipient);
        detail::load_code(a, code);
        a(count);
    }
};

/// MailboxStats on the wire: sizes as u64, the overflow policy as a byte it checks.
template <class A>
void save(A& a, const MailboxStats& m) {
    a(m.name, static_cast<std::uint64_t>(m.depth), static_cast<std::uint64_t>(m.high_water),
      static_cast<std::uint64_t>(m.limit.letters), static_cast<std::uint64_t>(m.limit.bytes),
      static_cast<std::uint8_t>(m.limit.overflow), m.blocked_us, m.refused, m.dropped);
}
template <class A>
void load(A& a, MailboxStats& m) {
    std::uint64_t depth = 0, high_water = 0, letters = 0, bytes = 0;
    std::uint8_t overflow = 0;
    a(m.name, depth, high_water, letters, bytes, overflow, m.blocked_us, m.refused, m.dropped);
    if (overflow > static_cast<std::uint8_t>(Overflow::drop_oldest))
        throw std::runtime_error("unknown overflow policy " + std::to_string(overflow));
    m.depth = static_cast<std::size_t>(depth);
    m.high_water = static_cast<std::size_t>(high_water);
    m.limit = {static_cast<std::size_t>(letters), static_cast<std::size_t>(bytes),
               static_cast<Overflow>(overflow)};
}

struct LinkList {
    std::string node;
    std::int64_t pid = 0;
    std::vector<LinkInfo> links;
    NodeStats stats;  ///< Node::stats()
    /// The names with the most dead letters among those lately sent to, most first.
    std::vector<DeadLetterCount> dead_letter_targets;
    std::vector<MailboxStats> mailboxes;  ///< Node::mailboxes()
    template <class A>
    void serialize(A& a) {
        a(node, pid, links, stats, dead_letter_targets, mailboxes);
    }
};

}  // namespace courier

COURIER_MESSAGE(courier::Hello, "courier.Hello");
COURIER_MESSAGE(courier::Heartbeat, "courier.Heartbeat");
COURIER_MESSAGE(courier::Credit, "courier.Credit");
COURIER_MESSAGE(courier::LinkList, "courier.LinkList");
