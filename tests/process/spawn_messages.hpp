#pragma once
/// @file
/// Messages between spawn_test.cpp and the child it spawns (spawned_node.cpp).

#include <courier/courier.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace spawn_wire {

/// What the child saw of itself, sent to the parent's "inbox" when its echo actor starts.
struct Report {
    std::string node;
    std::vector<int> fds_at_start;   ///< open descriptors when main() began
    bool inherited_cloexec = false;  ///< those above 2 are close-on-exec once adopted
    std::string parent_transport;    ///< of the child's link to its parent ("" if none)
    std::string parent_reason;
    std::vector<std::string> endpoints;  ///< what the child listens on
    template <class A>
    void serialize(A& a) {
        a(node, fds_at_start, inherited_cloexec, parent_transport, parent_reason, endpoints);
    }
};
struct Ping {
    std::int64_t n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
struct Pong {
    std::int64_t n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
/// A large byte buffer the child's actors send back as it came (bytes_test.cpp).
struct Blob {
    std::uint64_t n = 0;
    courier::Bytes data;
    template <class A>
    void serialize(A& a) {
        a(n, data);
    }
};
/// Ends the child with `code`.
struct Quit {
    int code = 0;
    template <class A>
    void serialize(A& a) {
        a(code);
    }
};

}  // namespace spawn_wire

COURIER_MESSAGE(spawn_wire::Report, "test.spawn.Report");
COURIER_MESSAGE(spawn_wire::Ping, "test.spawn.Ping");
COURIER_MESSAGE(spawn_wire::Pong, "test.spawn.Pong");
COURIER_MESSAGE(spawn_wire::Quit, "test.spawn.Quit");
COURIER_MESSAGE(spawn_wire::Blob, "test.spawn.Blob");
