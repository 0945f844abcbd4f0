#pragma once
/// @file
/// The messages between nodes that are not for actors: the first frame on every link, and
/// the query `courier links` sends to a node. Internal: tools/courier speaks it too.

#include <courier/framework/system_messages.hpp>
#include <courier/serialization/message_type.hpp>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

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

/// The name a node answers LinksQuery under; not registered, reachable over any link.
inline constexpr const char* node_service_name = "$node";

/// Asks a node for its open links (`courier links`). Answered with LinkList.
struct LinksQuery {
    template <class A>
    void serialize(A&) {}
};

struct LinkList {
    std::string node;
    std::vector<LinkInfo> links;
    template <class A>
    void serialize(A& a) {
        a(node, links);
    }
};

}  // namespace courier

COURIER_MESSAGE(courier::Hello, "courier.Hello");
COURIER_MESSAGE(courier::LinksQuery, "courier.LinksQuery");
COURIER_MESSAGE(courier::LinkList, "courier.LinkList");
