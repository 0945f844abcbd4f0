// Nodes in separate processes: requests, order, timeouts, name collisions, a node killed
// with SIGKILL, and a malformed frame. Children are forked before the test's own node
// starts threads; every test has its own registry and leaves its runtime dir empty.

#include "node_support.hpp"

#include <courier/courier.hpp>
#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <vector>

namespace {

using namespace courier;
using namespace courier::test;

/// A child node hosting an echo named `actor`; on 's' it runs `change(node)` (which
/// stops the actor, and perhaps starts another under its name) and answers 's'.
Child spawn_changing_node(const TempRuntimeDir& dir, std::string node, std::string actor,
                          std::function<void(Node&)> change) {
    return Child::fork([=, &dir](ChildChannel& channel) {
        Node n(node_options(dir, node));
        n.spawn(actor, echo);  // answers n + 1
        channel.send('r');
        while (char c = channel.receive()) {
            if (c == 's') {
                change(n);
                channel.send('s');
            }
            if (c == 'q') break;
        }
        return 0;
    });
}

}  // namespace

TEST_CASE("a request to an actor in another process gets its reply", "[process][node]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_node(dir, "echo-node", "echo", echo);
        REQUIRE(child.expect('r'));
        Node node(node_options(dir, "asker-node"));
        auto reply = node.request<wire::Pong>("echo", wire::Ping{41}, 5s);
        REQUIRE(reply.has_value());
        CHECK(reply->n == 42);
        CHECK(node.stats().sent_remote >= 1);
        child.send('q');
        CHECK(child.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("messages from one actor to an actor in another process arrive in order",
          "[process][node]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_node(dir, "recorder-node", "recorder", recorder);
        REQUIRE(child.expect('r'));
        Node node(node_options(dir, "sender-node"));
        Mailbag<std::int64_t> result;
        constexpr std::int64_t count = 50000;
        node.spawn("sender", [&](Actor& self) {
            for (std::int64_t i = 0; i < count; ++i) self.send("recorder", wire::Ping{i});
            self.request<wire::Pong>(
                "recorder", wire::Report{}, 30s,
                [&](Expected<wire::Pong, Error> r) { result.put(r ? r->n : -2); });
        });
        auto received = result.take(60s);
        REQUIRE(received);
        CHECK(*received == count);
        child.send('q');
        CHECK(child.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("a request to an actor in another process that never answers times out",
          "[process][node]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_node(dir, "silent-node", "silent",
                                [](Actor& self) { self.handle<wire::Ping>([](wire::Ping&) {}); });
        REQUIRE(child.expect('r'));
        Node node(node_options(dir, "impatient-node"));
        auto reply = node.request<wire::Pong>("silent", wire::Ping{1}, 100ms);
        REQUIRE_FALSE(reply.has_value());
        CHECK(reply.error().code == ErrorCode::timeout);
        child.send('q');
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE(
    "a remote requester of an actor that restarts gets its Failure, and the next request "
    "is answered by the new actor under the same name, with no Down",
    "[process][node][failure]") {
    TempRuntimeDir dir;
    {
        // Counts the Pings it answered; a negative one makes it throw (the default policy:
        // restart, so the count starts again).
        auto child = spawn_node(dir, "restart-node", "counter", [](Actor& self) {
            self.handle<wire::Ping>([&self, count = std::int64_t{0}](wire::Ping& p) mutable {
                if (p.n < 0) throw std::runtime_error("negative");
                self.reply(wire::Pong{++count});
            });
        });
        REQUIRE(child.expect('r'));
        Node node(node_options(dir, "restart-asker"));
        // Asks the registry which registration holds "counter" on each Go (Up, at once):
        // a restart keeps it (same incarnation), where a stop and a new spawn would not.
        Mailbag<Up> ups;
        Mailbag<Down> downs;
        node.spawn("watcher", [&ups, &downs](Actor& self) {
            self.handle([&downs](Down& down) { downs.put(down); });
            self.handle([&ups](Up& up) { ups.put(up); });
            self.handle([&self](wire::Go&) { self.await_up("counter"); });
            self.monitor("counter");
        });
        node.send("watcher", wire::Go{});
        auto before = ups.take(5s);
        REQUIRE(before);
        CHECK(node.request<wire::Pong>("counter", wire::Ping{0}, 5s)->n == 1);
        CHECK(node.request<wire::Pong>("counter", wire::Ping{0}, 5s)->n == 2);
        auto failed = node.request<wire::Pong>("counter", wire::Ping{-1}, 5s);
        REQUIRE_FALSE(failed.has_value());
        CHECK(failed.error().code == ErrorCode::handler_failed);
        CHECK(failed.error().message == "negative");
        auto again = node.request<wire::Pong>("counter", wire::Ping{0}, 5s);
        REQUIRE(again.has_value());
        CHECK(again->n == 1);  // a new actor's count
        node.send("watcher", wire::Go{});
        auto after = ups.take(5s);
        REQUIRE(after);
        CHECK(after->incarnation == before->incarnation);  // never unregistered
        CHECK(after->pid == before->pid);
        CHECK_FALSE(downs.take(0ms));  // none came with the answers either
        child.send('q');
        CHECK(child.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("an actor name taken in another process cannot be spawned again", "[process][node]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_node(dir, "first-node", "unique", echo);
        REQUIRE(child.expect('r'));
        Node node(node_options(dir, "second-node"));
        try {
            node.spawn("unique", echo);
            FAIL("spawn of a taken name succeeded");
        } catch (const SetupError& e) {
            CHECK(e.code() == ErrorCode::name_taken);
            CHECK_THAT(e.what(), Catch::Contains("unique") && Catch::Contains("first-node"));
        }
        // A second node with the same node name is refused too.
        CHECK_THROWS_AS(Node(node_options(dir, "first-node")), SetupError);
        child.send('q');
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("when a node is killed with SIGKILL its watchers get Down and sends become dead letters",
          "[process][node]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_node(dir, "doomed-node", "doomed", echo);
        REQUIRE(child.expect('r'));
        Node node(node_options(dir, "watcher-node"));
        REQUIRE(node.request<wire::Pong>("doomed", wire::Ping{1}, 5s).has_value());

        Mailbag<Down> downs;
        Mailbag<Monitor> watching;
        node.spawn("watcher", [&](Actor& self) {
            self.handle<Down>([&](Down& d) { downs.put(d); });
            watching.put(self.monitor("doomed"));
        });
        auto monitor = watching.take();
        REQUIRE(monitor);
        child.kill(SIGKILL);
        REQUIRE(child.wait_exit());

        // Told by the link or by the registry, whichever is first: the same Down.
        auto down = downs.take();
        REQUIRE(down);
        CHECK(down->name == "doomed");
        CHECK(down->reason == DownReason::node_exited);
        CHECK(down->node == "doomed-node");
        CHECK(down->pid == child.pid());
        CHECK(down->incarnation != 0);
        CHECK(down->monitor == monitor->id);
        CHECK_FALSE(downs.take(200ms));  // one Down per monitor
        auto reply = node.request<wire::Pong>("doomed", wire::Ping{2}, 5s);
        REQUIRE_FALSE(reply.has_value());
        CHECK((reply.error().code == ErrorCode::unknown_name ||
               reply.error().code == ErrorCode::link_failed));
    }
    CHECK(dir.wait_until_empty());
}

namespace {
/// A link to the node that has the actor `name`, opened by hand as another node would.
std::unique_ptr<Link> raw_link_to(const TempRuntimeDir& dir, const std::string& name) {
    RegistryClient registry(dir.options());
    auto where = registry.lookup(name);
    REQUIRE(where.found);
    REQUIRE_FALSE(where.endpoints.empty());
    return TransportRegistry::builtin().connect(Endpoint::parse(where.endpoints.front()));
}
}  // namespace

TEST_CASE("a malformed frame closes only its link and the node keeps serving", "[process][node]") {
    TempRuntimeDir dir;
    {
        Node node(node_options(dir, "sturdy-node"));
        node.spawn("echo", echo);
        auto raw = raw_link_to(dir, "echo");
        std::vector<std::byte> garbage(100, std::byte{0x5a});
        raw->send(garbage);
        // The node answers garbage by closing the link.
        bool closed = false;
        auto deadline = std::chrono::steady_clock::now() + 5s;
        std::vector<Frame> frames;
        while (!closed && std::chrono::steady_clock::now() < deadline) {
            pollfd p{raw->poll_fd(), POLLIN, 0};
            ::poll(&p, 1, 100);
            closed = raw->receive(frames).state != ReceiveStatus::State::open;
        }
        CHECK(closed);
        CHECK(node.stats().bad_frames == 1);
        auto reply = node.request<wire::Pong>("echo", wire::Ping{1}, 5s);
        REQUIRE(reply.has_value());
        CHECK(reply->n == 2);
    }
    CHECK(dir.wait_until_empty());
}

namespace {
/// The next frame `link` receives, decoded as an envelope of type T; nothing by the deadline
/// fails the test.
template <class T>
std::pair<EnvelopeHeader, T> next_message(Link& link, std::vector<Frame>& frames) {
    // The node's grants of credit (to node '$node') come whenever it likes: skipped.
    constexpr TypeId credit = type_id_from_name("courier.Credit");
    auto deadline = std::chrono::steady_clock::now() + 5s;
    std::optional<Frame> frame;
    while (!frame && std::chrono::steady_clock::now() < deadline) {
        if (frames.empty()) {
            pollfd p{link.poll_fd(), POLLIN, 0};
            ::poll(&p, 1, 100);
            REQUIRE(link.receive(frames).state == ReceiveStatus::State::open);
            continue;
        }
        auto next = decode_envelope(frames.front().data());
        if (!next || next->header.type != credit) frame = std::move(frames.front());
        frames.erase(frames.begin());
    }
    REQUIRE(frame);
    auto view = decode_envelope(frame->data());
    REQUIRE(view);
    REQUIRE(view->header.type == type_id_of<T>());
    auto value = decode_payload<T>(view->payload);
    REQUIRE(value);
    auto header = view->header;
    header.sender = header.recipient = {};  // views into `frame`, which goes now
    return {header, std::move(*value)};
}
}  // namespace

TEST_CASE("a frame for a name or a type the node lacks comes back as a DeadLetter, link intact",
          "[process][node]") {
    TempRuntimeDir dir;
    {
        Node node(node_options(dir, "strict-node"));
        node.spawn("echo", echo);
        auto raw = raw_link_to(dir, "echo");
        std::vector<Frame> frames;

        EnvelopeHeader header;
        header.sender = "raw-sender";
        header.recipient = "nobody";
        raw->send(encode_message(header, wire::Ping{1}));
        auto [to_nobody, bounce] = next_message<DeadLetter>(*raw, frames);
        CHECK(bounce.recipient == "nobody");
        CHECK(bounce.type == type_id_of<wire::Ping>());
        CHECK(bounce.code == ErrorCode::unknown_name);
        CHECK(bounce.reason == "no actor named 'nobody' in node 'strict-node'");

        header.recipient = "echo";
        header.type = 0x0123456789abcdef;  // registered nowhere
        std::vector<std::byte> unknown;
        encode_envelope_header(header, 0, unknown);
        raw->send(unknown);
        auto [of_unknown, refused] = next_message<DeadLetter>(*raw, frames);
        CHECK(refused.recipient == "echo");
        CHECK(refused.type == 0x0123456789abcdef);
        CHECK(refused.code == ErrorCode::bad_message);

        // The link still carries letters, and the answers to them.
        header.flags = envelope_flags::request;
        header.correlation = 7;
        raw->send(encode_message(header, wire::Ping{41}));
        auto [reply, pong] = next_message<wire::Pong>(*raw, frames);
        CHECK(reply.flags == envelope_flags::reply);
        CHECK(reply.correlation == 7);
        CHECK(pong.n == 42);
        CHECK(node.stats().bad_frames == 0);
        CHECK(node.stats().dead_letters == 2);
    }
    CHECK(dir.wait_until_empty());
}

namespace {

std::string numbered_data(std::int64_t n) {
    // Mostly small; every 500th larger than a stream link's batch (64 KiB).
    const std::size_t size = n % 500 == 499 ? 100'000 : static_cast<std::size_t>(n % 200);
    return std::string(size, static_cast<char>('a' + n % 26));
}

/// Counts Numbered messages; after the `count`th, tells "sender" how many came in order
/// with the right contents (-1 if any did not).
std::function<void(Actor&)> numbered_recorder(std::int64_t count) {
    return [count](Actor& self) {
        auto next = std::make_shared<std::int64_t>(0);
        auto ok = std::make_shared<bool>(true);
        self.handle<wire::Numbered>([=, &self](wire::Numbered& m) {
            *ok = *ok && m.n == *next && m.data == numbered_data(m.n);
            if (++*next == count) self.send("sender", wire::Pong{*ok ? *next : -1});
        });
    };
}

}  // namespace

TEST_CASE(
    "many messages sent in one handler to another process arrive in order, on every "
    "transport",
    "[process][node][batch]") {
    // The handler's sends may wait in the link until its turn ends; nothing is sent after
    // them, so only the flush at the end of the turn can deliver the last ones.
    const std::string transport = GENERATE(as<std::string>{}, "unix", "tcp", "fifo", "shm", "sysv");
    TempRuntimeDir dir;
    const std::string toml = "[links]\npreference = [\"" + transport + "\"]\n";
    {
        constexpr std::int64_t count = 5000;
        auto child = spawn_node(configured(dir, "recorder-node", toml), "recorder",
                                numbered_recorder(count));
        REQUIRE(child.expect('r'));
        Node node(configured(dir, "sender-node", toml));
        Mailbag<std::int64_t> result;
        node.spawn("sender", [&](Actor& self) {
            self.handle<wire::Go>([&self](wire::Go&) {
                for (std::int64_t i = 0; i < count; ++i)
                    self.send("recorder", wire::Numbered{i, numbered_data(i)});
            });
            self.handle<wire::Pong>([&](wire::Pong& p) { result.put(p.n); });
        });
        node.send("sender", wire::Go{});
        auto received = result.take(60s);
        REQUIRE(received);
        CHECK(*received == count);
        auto links = node.links();
        const auto* link = link_to(links, "recorder-node");
        REQUIRE(link);
        CHECK(link->transport == transport);
        child.send('q');
        CHECK(child.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("an actor's sends follow a name that went down and came back in another node",
          "[process][node]") {
    // Actors remember where the names they send to live; a name that goes down (here: its
    // actor stops, its node and link stay up) must not keep its letters on the old node.
    TempRuntimeDir dir;
    {
        auto first_home =
            spawn_changing_node(dir, "first-home", "mover", [](Node& n) { n.stop("mover"); });
        REQUIRE(first_home.expect('r'));

        Node node(node_options(dir, "asker-node"));
        Mailbag<std::int64_t> answers;
        Mailbag<Down> downs;
        node.spawn("asker", [&](Actor& self) {
            self.handle<Down>([&](Down& d) { downs.put(d); });
            self.handle<wire::Ping>([&](wire::Ping& p) {
                self.request<wire::Pong>(
                    "mover", wire::Ping{p.n}, 5s,
                    [&](Expected<wire::Pong, Error> r) { answers.put(r ? r->n : -1); });
            });
            self.monitor("mover");
        });
        node.send("asker", wire::Ping{1});
        CHECK(answers.take() == 2);  // the node knows the route to first-home now
        node.send("asker", wire::Ping{2});
        CHECK(answers.take() == 3);  // and so does the actor

        first_home.send('s');
        REQUIRE(first_home.expect('s'));
        auto down = downs.take();
        REQUIRE(down);
        CHECK(down->name == "mover");
        CHECK(down->reason == DownReason::stopped);  // its node lives on
        CHECK(down->node == "first-home");

        auto second_home = spawn_node(dir, "second-home", "mover", [](Actor& self) {
            self.handle<wire::Ping>([&self](wire::Ping& p) { self.reply(wire::Pong{p.n + 100}); });
        });
        REQUIRE(second_home.expect('r'));
        node.send("asker", wire::Ping{3});
        CHECK(answers.take() == 103);

        first_home.send('q');
        second_home.send('q');
        CHECK(first_home.wait_exit());
        CHECK(second_home.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("letters from a link reach a new actor that took the name of a stopped one",
          "[process][node]") {
    // A link remembers which mailbox its last letter went to; a name that changes hands
    // must not keep its letters in the old actor's mailbox.
    TempRuntimeDir dir;
    {
        auto home = spawn_changing_node(dir, "phoenix-home", "phoenix", [](Node& n) {
            n.stop("phoenix");
            // The old actor lets go of its name on its worker: retry until it has.
            const auto until = std::chrono::steady_clock::now() + 10s;
            for (;;) {
                try {
                    n.spawn("phoenix", [](Actor& self) {
                        self.handle<wire::Ping>(
                            [&self](wire::Ping& p) { self.reply(wire::Pong{p.n + 100}); });
                    });
                    return;
                } catch (const SetupError&) {
                    if (std::chrono::steady_clock::now() > until) throw;
                    std::this_thread::sleep_for(1ms);
                }
            }
        });
        REQUIRE(home.expect('r'));
        Node node(node_options(dir, "caller-node"));
        auto first = node.request<wire::Pong>("phoenix", wire::Ping{1}, 5s);
        REQUIRE(first.has_value());
        CHECK(first->n == 2);
        home.send('s');
        REQUIRE(home.expect('s', 15s));
        auto second = node.request<wire::Pong>("phoenix", wire::Ping{2}, 5s);
        REQUIRE(second.has_value());
        CHECK(second->n == 102);
        home.send('q');
        CHECK(home.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}
