// courierd killed with SIGKILL while nodes run: the nodes connect again (starting a new
// courierd), register their names again and keep their monitors, their links carry on
// meanwhile; the new courierd holds the names of nodes that have not come back yet while
// their processes live, and refuses a process that claims another's pid.

#include "node_support.hpp"
#include "registry/registry_client.hpp"

#include <courier/courier.hpp>
#include <courier/framework/runtime_dir.hpp>
#include <courier/serialization/codec.hpp>
#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <string>

namespace {

using namespace courier;
using namespace courier::test;

/// Where `name` is registered now, as a fresh client asks (starting courierd if need be).
registry::Location where(const TempRuntimeDir& dir, const std::string& name) {
    RegistryClient client(dir.options());
    return client.lookup(name);
}

}  // namespace

TEST_CASE("after courierd is killed, nodes register again within a second and links carry on",
          "[process][registry][restart]") {
    TempRuntimeDir dir;
    {
        auto child = Child::fork([&dir](ChildChannel& channel) {
            Node node(node_options(dir, "svc-node"));
            node.spawn("svc", [](Actor& self) {
                self.handle([&self](wire::Ping& p) { self.reply(wire::Ping{p.n + 1}); });
            });
            channel.send('r');
            while (char c = channel.receive())
                if (c == 'q') break;
            return 0;
        });
        REQUIRE(child.expect('r'));
        Node node(node_options(dir, "client-node"));
        REQUIRE(node.request<wire::Ping>("svc", wire::Ping{1}, 5s));  // the link is open
        const auto before = where(dir, "svc");
        REQUIRE(before.found);
        Mailbag<Down> downs;
        Mailbag<Monitor> monitors;
        node.spawn("watcher", [&](Actor& self) {
            self.handle([&](Down& d) { downs.put(d); });
            monitors.put(self.monitor("svc"));
        });
        REQUIRE(monitors.take());

        REQUIRE(kill_courierd(dir));
        // The link needs no registry.
        auto answer = node.request<wire::Ping>("svc", wire::Ping{2}, 5s);
        REQUIRE(answer);
        CHECK(answer->n == 3);

        // Both nodes are back, the same registrations: same pid, same incarnation.
        REQUIRE(eventually(
            [&] {
                auto now = where(dir, "svc");
                return now.found && now.pid == child.pid();
            },
            2s));
        CHECK(where(dir, "svc").incarnation == before.incarnation);
        REQUIRE(eventually([&] { return where(dir, "watcher").found; }, 2s));
        {
            RegistryClient other(dir.options());
            REQUIRE(other.register_node("usurper", {}).ok);
            const auto taken = other.register_name("svc");
            CHECK_FALSE(taken.ok);
            CHECK_THAT(taken.error, Catch::Contains("svc-node"));
        }
        CHECK_FALSE(downs.take(100ms));  // the monitor lives on, nothing went down

        child.kill(SIGKILL);
        auto down = downs.take();
        REQUIRE(down);
        CHECK(down->reason == DownReason::node_exited);
        CHECK(down->incarnation == before.incarnation);
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("a new courierd holds the names of a node that has not come back while it lives",
          "[process][registry][restart]") {
    TempRuntimeDir dir;
    {
        // A plain registry client never connects again by itself: its names stay only
        // because the new courierd keeps them for its living process.
        const auto options = dir.options();
        auto holder = Child::fork([options](ChildChannel& channel) {
            RegistryClient client(options);
            if (!client.register_node("holder-node", {"unix:/nowhere.sock"}).ok) return 3;
            if (!client.register_name("held").ok) return 4;
            channel.send('r');
            while (char c = channel.receive())
                if (c == 'q') break;
            return 0;
        });
        REQUIRE(holder.expect('r'));
        const auto before = where(dir, "held");
        REQUIRE(before.found);

        REQUIRE(kill_courierd(dir));
        RegistryClient other(dir.options());  // starts the new courierd
        const auto held = other.lookup("held");
        REQUIRE(held.found);
        CHECK(held.node == "holder-node");
        CHECK(held.pid == holder.pid());
        CHECK(held.incarnation == before.incarnation);
        CHECK(held.endpoints == std::vector<std::string>{"unix:/nowhere.sock"});
        REQUIRE(other.register_node("other-node", {}).ok);
        CHECK_FALSE(other.register_name("held").ok);
        CHECK_FALSE(other.register_node("holder-node", {}).ok);

        holder.kill(SIGKILL);
        REQUIRE(holder.wait_exit());
        // Its process gone, the name is free within the sweep's half second.
        CHECK(eventually([&] { return other.register_name("held").ok; }, 3s));
        CHECK(other.lookup("held").pid == ::getpid());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("courierd refuses a node that claims a pid that is not its own",
          "[process][registry][restart]") {
    TempRuntimeDir dir;
    {
        RegistryClient client(dir.options());  // starts courierd
        auto link = TransportRegistry::builtin().connect(
            local_socket_endpoint(registry_socket_path(dir.path()).string()));
        EnvelopeHeader header;
        header.flags = envelope_flags::request;
        header.correlation = 1;
        header.sender = "liar";
        header.recipient = registry::daemon_name;
        link->send(encode_message(header, registry::RegisterNode{"liar", ::getpid() + 1, {}}));
        std::vector<Frame> frames;
        for (int i = 0; i < 50 && frames.empty(); ++i) {
            pollfd p{link->poll_fd(), POLLIN, 0};
            ::poll(&p, 1, 100);
            REQUIRE(link->receive(frames).state == ReceiveStatus::State::open);
        }
        REQUIRE(frames.size() == 1);
        auto envelope = decode_envelope(frames.front().data());
        REQUIRE(envelope);
        auto status = decode_payload<registry::Status>(envelope->payload);
        REQUIRE(status);
        CHECK_FALSE(status->ok);
        CHECK_THAT(status->error, Catch::Contains("is not this connection's (pid " +
                                                  std::to_string(::getpid()) + ")"));
        CHECK_FALSE(client.lookup("liar").found);
    }
    CHECK(dir.wait_until_empty());
}
