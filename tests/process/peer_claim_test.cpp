// A peer is who the registry says it is (docs/security.md): the node name a connector's
// Hello claims is believed only when the registry lists that node with the pid the kernel
// gives for the connection. Tested on every transport whose links are made over a unix:
// socket (SO_PEERCRED), with a liar in another process of the same user.

#include "node_protocol.hpp"
#include "node_support.hpp"
#include "registry/registry_client.hpp"

#include "support/log_capture.hpp"

#include <courier/courier.hpp>
#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace courier;
using namespace courier::test;
using courier_test::LogCapture;
using namespace std::chrono_literals;

namespace {

/// The config of the test's nodes: one transport; small queues on posixmq, whose
/// queues count against the user's RLIMIT_MSGQUEUE (800 KiB) with other tests' running
/// at once; and `more` settings of the transport.
std::string over(const std::string& transport, const std::string& more = "") {
    return "[links]\npreference = [\"" + transport + "\"]\n[transport." + transport + "]\n" +
           (transport == "posixmq" ? "max_messages = 2\nmessage_size = 1024\n" : "") + more;
}

/// A process that, once the parent writes 'g', links to node `victim` over `transport`
/// as a node would and says it is node `claimed` (nothing, if empty). Writes 'c' when the victim
/// closes the link, 'o' if it is still open `patience` later; stays until 'q'.
Child liar(const TempRuntimeDir& dir, const std::string& transport, const std::string& victim,
           const std::string& claimed, std::chrono::milliseconds patience) {
    return Child::fork([=, &dir](ChildChannel& channel) {
        if (channel.receive() != 'g') return 1;
        RegistryClient registry(dir.options());
        std::string endpoint;
        for (const auto& node : registry.list_nodes().nodes)
            if (node.node == victim)
                for (const auto& uri : node.endpoints)
                    if (uri.starts_with(transport + ":")) endpoint = uri;
        if (endpoint.empty()) return 2;
        auto link = TransportRegistry::builtin().connect(Endpoint::parse(endpoint));
        if (!claimed.empty()) {
            EnvelopeHeader header;
            header.recipient = victim;
            link->send(encode_message(header, Hello{claimed}));
        }
        std::vector<Frame> frames;
        const auto deadline = std::chrono::steady_clock::now() + patience;
        bool closed = false;
        while (!closed && std::chrono::steady_clock::now() < deadline) {
            pollfd p{link->poll_fd(), POLLIN, 0};
            ::poll(&p, 1, 50);
            closed = link->receive(frames).state != ReceiveStatus::State::open;
            frames.clear();
        }
        channel.send(closed ? 'c' : 'o');
        while (char c = channel.receive())
            if (c == 'q') break;
        return 0;
    });
}

}  // namespace

TEST_CASE(
    "the node a peer claims to be: a true claim names the link, another node's name is "
    "refused, logged and closed (letters to that node still reach it), a name nobody has "
    "leaves the link unnamed, and a link that says nothing is closed after "
    "handshake_timeout_us",
    "[process][security]") {
    const std::string transport =
        GENERATE(as<std::string>{}, "unix", "fifo", "shm", "sysv", "posixmq");
    INFO("transport " << transport);
    TempRuntimeDir dir;
    {
        LogCapture log;
        // Forked before this process has a node, and with it threads.
        auto forger = liar(dir, transport, "victim-node", "bob-node", 10s);
        auto stranger = liar(dir, transport, "victim-node", "ghost-node", 1s);
        auto mute = liar(dir, transport, "victim-node", "", 10s);
        auto bob = Child::fork([&dir, transport](ChildChannel& channel) {
            Node node(configured(dir, "bob-node", over(transport)));
            node.spawn("bob", echo);
            channel.send('r');
            while (char c = channel.receive()) {
                if (c == 'q') break;
                if (c == 'p') {  // links to the victim: a link bob-node makes, so a true Hello
                    auto pong = node.request<wire::Pong>("victim", wire::Ping{10}, 5s);
                    channel.send(pong && pong->n == 11 ? 'y' : 'n');
                }
            }
            return 0;
        });
        REQUIRE(bob.expect('r'));
        // A link gets 200 ms to say who it is.
        Node victim(
            configured(dir, "victim-node", over(transport, "handshake_timeout_us = 200000\n")));
        victim.spawn("victim", echo);

        // bob-node's link to the victim is named after it once the registry agrees.
        bob.send('p');
        CHECK(bob.expect('y', 10s));
        CHECK(eventually([&] {
            const auto links = victim.links();
            const LinkInfo* to_bob = link_to(links, "bob-node");
            return to_bob != nullptr && !to_bob->initiated;
        }));

        forger.send('g');
        CHECK(forger.expect('c', 10s));
        CHECK(eventually([&] {
            return log.text().find(
                       "it says it is node 'bob-node', which the registry lists as pid " +
                       std::to_string(bob.pid()) + "; closing the link") != std::string::npos;
        }));
        // The lie took nothing over: letters to bob-node still go to bob-node, over its
        // own link.
        auto reply = victim.request<wire::Pong>("bob", wire::Ping{1}, 5s);
        REQUIRE(reply.has_value());
        CHECK(reply->n == 2);
        {
            const auto links = victim.links();
            CHECK(std::count_if(links.begin(), links.end(), [](const LinkInfo& link) {
                      return link.peer_node == "bob-node";
                  }) == 1);
        }

        stranger.send('g');
        // Not closed: no lie the registry can show, and it said Hello in time.
        CHECK(stranger.expect('o', 10s));
        CHECK(eventually([&] {
            return log.text().find(
                       "says it is node 'ghost-node', which the registry does not "
                       "list; the link stays unnamed") != std::string::npos;
        }));
        {
            const auto links = victim.links();
            CHECK(link_to(links, "ghost-node") == nullptr);
        }

        // One that says nothing is closed when its time is up.
        mute.send('g');
        CHECK(mute.expect('c', 10s));
        CHECK(eventually([&] {
            return log.text().find("said no Hello within 200 ms; closing the link") !=
                   std::string::npos;
        }));

        forger.send('q');
        stranger.send('q');
        mute.send('q');
        bob.send('q');
    }
    CHECK(dir.wait_until_empty());
}
