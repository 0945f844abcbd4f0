#pragma once
/// @file
/// What the node tests in tests/process share: their messages, a child process hosting
/// one actor, the echo and recorder actors, and finding a link by its peer's node.

#include "process_support.hpp"

#include <courier/courier.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace wire {
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
struct Report {
    template <class A>
    void serialize(A&) {}
};
struct Go {
    template <class A>
    void serialize(A&) {}
};
/// Numbered, with `n`-dependent contents whose size ranges up to beyond a link's batch.
struct Numbered {
    std::int64_t n = 0;
    std::string data;
    template <class A>
    void serialize(A& a) {
        a(n, data);
    }
};
}  // namespace wire

COURIER_MESSAGE(wire::Ping, "test.process.Ping");
COURIER_MESSAGE(wire::Pong, "test.process.Pong");
COURIER_MESSAGE(wire::Report, "test.process.Report");
COURIER_MESSAGE(wire::Go, "test.process.Go");
COURIER_MESSAGE(wire::Numbered, "test.process.Numbered");

namespace courier::test {

/// A child process with a node named `node` hosting `actor`, built by `setup`. Writes 'r'
/// once the actor is registered and stays until the parent writes 'q' or goes away.
inline Child spawn_node(NodeOptions options, std::string actor, std::function<void(Actor&)> setup) {
    return Child::fork([=](ChildChannel& channel) {
        Node n(options);
        n.spawn(actor, setup);
        channel.send('r');
        while (char c = channel.receive())
            if (c == 'q') break;
        return 0;
    });
}

inline Child spawn_node(const TempRuntimeDir& dir, std::string node, std::string actor,
                        std::function<void(Actor&)> setup) {
    return spawn_node(node_options(dir, std::move(node)), std::move(actor), std::move(setup));
}

inline void echo(Actor& self) {
    self.handle<wire::Ping>([&self](wire::Ping& p) { self.reply(wire::Pong{p.n + 1}); });
}

/// Records the Pings it gets; answers Report with the count, or -1 if any came out of order.
inline void recorder(Actor& self) {
    auto next = std::make_shared<std::int64_t>(0);
    auto in_order = std::make_shared<bool>(true);
    self.handle<wire::Ping>([=](wire::Ping& p) {
        *in_order = *in_order && p.n == *next;
        ++*next;
    });
    self.handle<wire::Report>(
        [=, &self](wire::Report&) { self.reply(wire::Pong{*in_order ? *next : -1}); });
}

/// The link to `node` among `links`, or null.
/// Not of a temporary list: the pointer would outlive it.
const LinkInfo* link_to(std::vector<LinkInfo>&& links, const std::string& node) = delete;
inline const LinkInfo* link_to(const std::vector<LinkInfo>& links, const std::string& node) {
    for (const auto& link : links)
        if (link.peer_node == node) return &link;
    return nullptr;
}

}  // namespace courier::test
