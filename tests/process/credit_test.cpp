// Credit between processes (docs/flow_control.md, "Between processes"): a consumer in
// another process that does not keep up slows its producer, whatever the transport, and
// the memory of both stays bounded; actors flooding each other across a link do not
// deadlock.

#include "node_support.hpp"

#include <courier/courier.hpp>
#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>

using namespace courier;
using namespace courier::test;

namespace {

constexpr std::uint64_t window_letters = 512;

/// AddressSanitizer keeps freed memory in quarantine (256 MiB by default): a process's
/// peak says nothing about what it holds, so the memory checks are left out under it.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool measures_memory = false;
#else
constexpr bool measures_memory = true;
#endif
constexpr std::size_t letter_size = 4096;

/// The config of both nodes: one transport, and a credit window of 512 letters.
std::string over(const std::string& transport) {
    return "[links]\npreference = [\"" + transport +
           "\"]\n[node]\ncredit_letters = " + std::to_string(window_letters) +
           "\ncredit_bytes = 4194304\n";
}

/// A field of /proc/<pid>/status in KiB (VmRSS, VmHWM).
std::uint64_t status_kib(pid_t pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    while (status >> key) {
        if (key == field + ":") {
            std::uint64_t kib = 0;
            status >> kib;
            return kib;
        }
        status.ignore(1 << 12, '\n');
    }
    FAIL("no " << field << " in /proc/" << pid << "/status");
    return 0;
}

/// A child whose actor "consumer" holds its first Go until the parent writes 'g' ('h':
/// it writes 'f' once it holds it), then records the Numbered letters it gets: Report
/// answers how many, or -1 if one came out of order.
Child spawn_consumer(const TempRuntimeDir& dir, const std::string& toml) {
    return Child::fork([&dir, toml](ChildChannel& channel) {
        Node node(configured(dir, "consumer-node", toml));
        std::promise<void> go;
        std::shared_future<void> going = go.get_future().share();
        std::atomic<bool> held{false};
        node.spawn("consumer", [going, &held](Actor& self) {
            auto next = std::make_shared<std::int64_t>(0);
            self.handle([going, &held](wire::Go&) {
                held = true;
                going.wait();
            });
            self.handle([next](wire::Numbered& letter) {
                *next = letter.n == *next && *next >= 0 ? *next + 1 : -1;
            });
            self.handle([&self, next](wire::Report&) { self.reply(wire::Pong{*next}); });
        });
        channel.send('r');
        while (char c = channel.receive()) {
            if (c == 'h') {
                const auto until = std::chrono::steady_clock::now() + 20s;
                while (!held && std::chrono::steady_clock::now() < until)
                    std::this_thread::sleep_for(1ms);
                channel.send(held ? 'f' : 'n');
            } else if (c == 'g') {
                go.set_value();
            } else if (c == 'q') {
                break;
            }
        }
        return 0;
    });
}

/// The consumer's count, asked until it has `count` letters or 60 s passed.
std::int64_t consumed(Node& node, std::int64_t count) {
    const auto until = std::chrono::steady_clock::now() + 60s;
    std::int64_t got = 0;
    while (std::chrono::steady_clock::now() < until) {
        auto report = node.request<wire::Pong>("consumer", wire::Report{}, 30s);
        if (!report) return -2;
        got = report->n;
        if (got == count || got < 0) break;
        std::this_thread::sleep_for(5ms);
    }
    return got;
}

/// Waits until the link to `node` has letters in its outbox; its LinkInfo then.
LinkInfo outbox_filled(Node& sender, const std::string& node) {
    const auto until = std::chrono::steady_clock::now() + 20s;
    for (;;) {
        const auto links = sender.links();
        const LinkInfo* link = link_to(links, node);
        if ((link && link->outbox > 0) || std::chrono::steady_clock::now() >= until)
            return link ? *link : LinkInfo{};
        std::this_thread::sleep_for(1ms);
    }
}

}  // namespace

TEST_CASE(
    "a held consumer in another process slows an actor producing for it, on every "
    "transport: the producer sends a window and one turn, the consumer's memory stays "
    "bounded, and once it goes on every letter arrives in order",
    "[process][credit]") {
    const std::string transport =
        GENERATE(as<std::string>{}, "unix", "tcp", "fifo", "shm", "sysv", "posixmq");
    INFO("transport " << transport);
    constexpr std::int64_t total = 20'000;  // 80 MiB of letters
    constexpr std::int64_t per_turn = 64;
    TempRuntimeDir dir;
    {
        auto child = spawn_consumer(dir, over(transport));
        REQUIRE(child.expect('r'));
        const std::uint64_t before_kib = status_kib(child.pid(), "VmRSS");
        std::atomic<std::int64_t> sent{0};
        Node node(configured(dir, "producer-node", over(transport)));
        node.spawn("producer", [&sent](Actor& self) {
            self.handle([&self, &sent](wire::Go&) {
                const std::string data(letter_size, 'x');
                for (std::int64_t i = 0; i < per_turn && sent < total; ++i)
                    self.send("consumer", wire::Numbered{sent++, data});
                if (sent < total) self.send(self.name(), wire::Go{});
            });
            self.send("consumer", wire::Go{});  // held there
            self.send(self.name(), wire::Go{});
        });
        child.send('h');
        REQUIRE(child.expect('f', 20s));

        // Out of credit: the producer is parked with one turn at most in the outbox, and
        // it cannot have sent more than the window (its Go was taken, and is not due back).
        const LinkInfo link = outbox_filled(node, "consumer-node");
        CHECK(link.outbox > 0);
        CHECK(link.outbox <= static_cast<std::uint64_t>(per_turn));
        CHECK(sent <= static_cast<std::int64_t>(window_letters) + 2 * per_turn);
        if (measures_memory) CHECK(status_kib(child.pid(), "VmRSS") < before_kib + 32 * 1024);
        auto ps = run_command(
            {(bin_dir() / "courier").string(), "ps", "--runtime-dir", dir.path().string()});
        CHECK(ps.exit_code == 0);
        INFO(ps.out);
        CHECK_THAT(ps.out, Catch::Contains("WAITING FOR CREDIT"));
        CHECK_THAT(ps.out,
                   Catch::Matches("(.|\n)*producer-node .* consumer-node [0-9]+ .*\n(.|\n)*"));

        child.send('g');
        CHECK(consumed(node, total) == total);
        // All 80 MiB went through a window of 4 MiB: the consumer's peak stayed near it.
        const std::uint64_t peak_kib = status_kib(child.pid(), "VmHWM");
        INFO("consumer: " << before_kib << " KiB at start, peak " << peak_kib << " KiB");
        if (measures_memory) CHECK(peak_kib < before_kib + 32 * 1024);
        const auto after = node.links();
        REQUIRE(link_to(after, "consumer-node"));
        CHECK(link_to(after, "consumer-node")->outbox == 0);
        CHECK(link_to(after, "consumer-node")->blocked_us > 0);
        child.send('q');
        CHECK(child.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE(
    "an actor that sends many windows to a held consumer in one handler waits for credit "
    "once, not once a letter: its turn ends with the rest in the outbox, which drains in "
    "order once the consumer goes",
    "[process][credit]") {
    const std::string transport = GENERATE(as<std::string>{}, "unix", "shm");
    INFO("transport " << transport);
    constexpr std::int64_t total = 2'000;  // the window is 512
    TempRuntimeDir dir;
    {
        auto child = spawn_consumer(dir, over(transport));
        REQUIRE(child.expect('r'));
        std::promise<void> turn_ended;
        Node node(configured(dir, "producer-node", over(transport)));
        node.spawn("producer", [&turn_ended](Actor& self) {
            self.handle([&self, &turn_ended](wire::Go&) {
                const std::string data(letter_size, 'x');
                for (std::int64_t i = 0; i < total; ++i)
                    self.send("consumer", wire::Numbered{i, data});
                turn_ended.set_value();
            });
            self.send("consumer", wire::Go{});  // held there
        });
        child.send('h');
        REQUIRE(child.expect('f', 20s));
        REQUIRE(node.send("producer", wire::Go{}));
        REQUIRE(turn_ended.get_future().wait_for(20s) == std::future_status::ready);

        // One wait of 1 ms in vain, then no more: waiting once a letter would have held
        // the worker for more than 1.4 s (a condition variable waits at least its timeout).
        const LinkInfo link = outbox_filled(node, "consumer-node");
        CHECK(link.outbox >= static_cast<std::uint64_t>(total) - window_letters);
        CHECK(link.blocked_us < 1'000'000);
        child.send('g');
        CHECK(consumed(node, total) == total);
        const auto after = node.links();
        REQUIRE(link_to(after, "consumer-node"));
        CHECK(link_to(after, "consumer-node")->outbox == 0);
        child.send('q');
        CHECK(child.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE(
    "Node::send from a thread outside the node waits for credit, then fails with "
    "mailbox_full, and what it sent before arrives",
    "[process][credit]") {
    const std::string transport = GENERATE(as<std::string>{}, "unix", "shm");
    INFO("transport " << transport);
    TempRuntimeDir dir;
    {
        auto child = spawn_consumer(dir, over(transport));
        REQUIRE(child.expect('r'));
        NodeOptions options = configured(dir, "outside-node", over(transport));
        options.send_timeout = 200ms;
        Node node(options);
        REQUIRE(node.send("consumer", wire::Go{}));
        child.send('h');
        REQUIRE(child.expect('f', 20s));
        const std::string data(letter_size, 'x');
        std::int64_t sent = 0;
        Expected<void, Error> last;
        while (last && sent < 10'000) {
            last = node.send("consumer", wire::Numbered{sent, data});
            if (last) ++sent;
        }
        REQUIRE_FALSE(last);
        CHECK(last.error().code == ErrorCode::mailbox_full);
        CHECK_THAT(last.error().message, Catch::Contains("granted no credit for 200 ms"));
        // The window, less the Go: what the consumer's node let it have (at least the 256
        // letters every link starts with).
        CHECK(sent >= 255);
        CHECK(sent < static_cast<std::int64_t>(window_letters));
        // courier links: this end has no credit left and waited; the consumer's end holds
        // every letter sent, not yet taken (and the Go, still in its handler).
        auto out = run_command(
            {(bin_dir() / "courier").string(), "links", "--runtime-dir", dir.path().string()});
        CHECK(out.exit_code == 0);
        INFO(out.out);
        CHECK_THAT(out.out, Catch::Contains("CREDIT") && Catch::Contains("UNRETURNED"));
        CHECK_THAT(out.out, Catch::Matches("(.|\n)*outside-node +consumer-node +" + transport +
                                           " +default .* 0 +0 +0 +0 +[0-9]{3,} ms\n(.|\n)*"));
        CHECK_THAT(out.out, Catch::Matches("(.|\n)*consumer-node +outside-node +" + transport +
                                           " +accepted .* 0 +[0-9]+ +0 +" +
                                           std::to_string(sent + 1) + " +0 ms\n(.|\n)*"));
        child.send('g');
        CHECK(consumed(node, sent) == sent);
        child.send('q');
        CHECK(child.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}

namespace {

/// An actor that sends `total` Pings to `peer` in batches of 8, one batch a turn, and
/// counts the Pings it gets; Report answers the count.
void flooder(Actor& self, std::string peer, std::int64_t total) {
    auto sent = std::make_shared<std::int64_t>(0);
    auto got = std::make_shared<std::int64_t>(0);
    self.handle([&self, peer, total, sent](wire::Go&) {
        for (int i = 0; i < 8 && *sent < total; ++i) self.send(peer, wire::Ping{(*sent)++});
        if (*sent < total) self.send(self.name(), wire::Go{});
    });
    self.handle([got](wire::Ping&) { ++*got; });
    self.handle([&self, got](wire::Report&) { self.reply(wire::Pong{*got}); });
}

}  // namespace

TEST_CASE(
    "two actors in two processes flooding each other through windows of 16 letters do not "
    "deadlock, on every transport",
    "[process][credit]") {
    const std::string transport =
        GENERATE(as<std::string>{}, "unix", "tcp", "fifo", "shm", "sysv", "posixmq");
    INFO("transport " << transport);
    constexpr std::int64_t total = 5000;
    const std::string toml =
        "[links]\npreference = [\"" + transport + "\"]\n[node]\ncredit_letters = 16\n";
    TempRuntimeDir dir;
    {
        auto child = spawn_node(configured(dir, "b-node", toml), "b",
                                [](Actor& self) { flooder(self, "a", total); });
        REQUIRE(child.expect('r'));
        Node node(configured(dir, "a-node", toml));
        node.spawn("a", [](Actor& self) {
            flooder(self, "b", total);
            self.send(self.name(), wire::Go{});
        });
        REQUIRE(node.send("b", wire::Go{}));
        const auto count_of = [&node](const std::string& name) {
            auto report = node.request<wire::Pong>(name, wire::Report{}, 30s);
            return report ? report->n : -1;
        };
        const auto until = std::chrono::steady_clock::now() + 60s;
        while ((count_of("a") < total || count_of("b") < total) &&
               std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(5ms);
        const auto links = node.links();
        if (const LinkInfo* link = link_to(links, "b-node"))
            UNSCOPED_INFO("link to b-node: credit " << link->credit << ", outbox " << link->outbox
                                                    << ", unreturned " << link->unreturned);
        for (const auto& box : node.mailboxes())
            UNSCOPED_INFO("mailbox " << box.name << ": " << box.depth);
        CHECK(count_of("a") == total);
        CHECK(count_of("b") == total);
        CHECK(node.stats().dead_letters == 0);
        child.send('q');
        CHECK(child.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE(
    "a node whose producer is parked on a held consumer's credit still stops: the producer "
    "runs its last turn, and the letters waiting for credit bounce",
    "[process][credit]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_consumer(dir, over("unix"));
        REQUIRE(child.expect('r'));
        std::chrono::steady_clock::duration stopping{};
        {
            NodeOptions options = configured(dir, "producer-node", over("unix"));
            options.drain_timeout = 100ms;
            auto node = std::make_unique<Node>(options);
            node->spawn("producer", [](Actor& self) {
                self.handle([&self](wire::Go&) {
                    const std::string data(letter_size, 'x');
                    for (int i = 0; i < 64; ++i) self.send("consumer", wire::Numbered{i, data});
                    self.send(self.name(), wire::Go{});
                });
                self.send("consumer", wire::Go{});
                self.send(self.name(), wire::Go{});
            });
            child.send('h');
            REQUIRE(child.expect('f', 20s));
            REQUIRE(outbox_filled(*node, "consumer-node").outbox > 0);
            const auto start = std::chrono::steady_clock::now();
            node.reset();
            stopping = std::chrono::steady_clock::now() - start;
        }
        // Not a speed test: a parked actor that never ran again held the stop for the
        // drain timeout plus 10 s.
        CHECK(stopping < 5s);
        child.send('g');
        child.send('q');
        CHECK(child.wait_exit());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE(
    "a peer that sends more letters than its credit allows is cut off, and the node "
    "goes on serving",
    "[process][credit]") {
    TempRuntimeDir dir;
    {
        NodeOptions options = node_options(dir, "strict-node");
        options.credit_window = {16, 1 << 20};  // below what every link starts with (256)
        Node node(options);
        std::promise<void> release;
        std::shared_future<void> released = release.get_future().share();
        std::atomic<int> handled{0};
        node.spawn("slow", [released, &handled](Actor& self) {
            self.handle([released, &handled](wire::Ping&) {
                released.wait();
                ++handled;
            });
            self.handle([&self, &handled](wire::Report&) { self.reply(wire::Pong{handled}); });
        });
        RegistryClient registry(dir.options());
        auto where = registry.lookup("slow");
        REQUIRE(where.found);
        auto raw = TransportRegistry::builtin().connect(Endpoint::parse(where.endpoints.front()));
        EnvelopeHeader header;
        header.sender = "greedy";
        header.recipient = "slow";
        header.flags = envelope_flags::credited;
        // 256 letters are allowed before any grant; the node grants nothing more while its
        // actor holds them.
        // On its own thread: a send may block once the node stops reading.
        std::atomic<bool> cut{false};
        std::thread sender([&] {
            for (int i = 0; i < 400 && !cut; ++i) {
                try {
                    raw->send(encode_message(header, wire::Ping{i}));
                } catch (const LinkError&) {
                    cut = true;
                }
            }
        });
        const auto until = std::chrono::steady_clock::now() + 10s;
        while (!node.links().empty() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(1ms);
        CHECK(node.links().empty());
        // The letters it let in hold the link until they are handled; then the peer sees
        // it closed.
        release.set_value();
        std::vector<Frame> frames;
        while (!cut && std::chrono::steady_clock::now() < until) {
            pollfd p{raw->poll_fd(), POLLIN, 0};
            ::poll(&p, 1, 100);
            if (raw->receive(frames).state != ReceiveStatus::State::open) cut = true;
        }
        sender.join();
        CHECK(cut);
        // The node still serves; its actor took the letters the credit let in, no more.
        auto count = node.request<wire::Pong>("slow", wire::Report{}, 5s);
        REQUIRE(count);
        CHECK(count->n == 256);
    }
    CHECK(dir.wait_until_empty());
}
