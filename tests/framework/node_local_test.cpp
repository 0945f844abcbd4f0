// Actors in one process: spawn, send, request, reply, dead letters, order, stop.
#include <courier/courier.hpp>

#include "config_support.hpp"
#include "test_messages.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;

namespace test {
/// Counts how often Cereal touches it.
struct Counted {
    int value = 0;
    static inline std::atomic<int> serializations{0};
    template <class A>
    void serialize(A& a) {
        ++serializations;
        a(value);
    }
};
/// Counts what arrives; lets the test wait for it with a deadline.
struct Inbox {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<int> values;
    std::vector<courier::DeadLetter> dead;
    void add(int v) {
        std::lock_guard lock(mutex);
        values.push_back(v);
        changed.notify_all();
    }
    void add_dead(courier::DeadLetter d) {
        std::lock_guard lock(mutex);
        dead.push_back(std::move(d));
        changed.notify_all();
    }
    template <class Pred>
    bool wait(Pred pred, std::chrono::milliseconds timeout = 5s) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, timeout, [&] { return pred(*this); });
    }
};
}  // namespace test

COURIER_MESSAGE(test::Counted, "test.Counted");

namespace {

courier::NodeOptions alone(std::string name) {
    courier::NodeOptions options;
    options.name = std::move(name);
    options.use_registry = false;
    return options;
}

void spawn_echo(courier::Node& node, const std::string& name) {
    node.spawn(name, [](courier::Actor& self) {
        self.handle<test::Ping>([&self](test::Ping& ping) { self.reply(test::Pong{ping.n + 1}); });
        self.handle<test::Boom>([](test::Boom&) { throw std::runtime_error("boom"); });
    });
}

}  // namespace

TEST_CASE("a request to a local actor gets its reply", "[framework][node]") {
    courier::Node node(alone("local-request"));
    spawn_echo(node, "echo");
    auto reply = node.request<test::Pong>("echo", test::Ping{41}, 5s);
    REQUIRE(reply.has_value());
    CHECK(reply->n == 42);
}

TEST_CASE("messages between two local actors arrive in the order they were sent",
          "[framework][node]") {
    test::Inbox inbox;
    courier::Node node(alone("local-order"));
    node.spawn("sink", [&](courier::Actor& self) {
        self.handle<test::Ping>([&](test::Ping& ping) { inbox.add(ping.n); });
    });
    constexpr int count = 20000;
    node.spawn("source", [](courier::Actor& self) {
        self.handle<test::Pong>([&self](test::Pong&) {
            for (int i = 0; i < count; ++i) self.send("sink", test::Ping{i});
        });
    });
    node.send("source", test::Pong{});
    REQUIRE(inbox.wait([](auto& in) { return in.values.size() == count; }));
    for (int i = 0; i < count; ++i) REQUIRE(inbox.values[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("a request that nobody answers times out", "[framework][node]") {
    courier::Node node(alone("local-timeout"));
    node.spawn("silent", [](courier::Actor& self) { self.handle<test::Ping>([](test::Ping&) {}); });
    auto reply = node.request<test::Pong>("silent", test::Ping{1}, 50ms);
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().code == courier::ErrorCode::timeout);
}

TEST_CASE("an actor's request times out inside the actor", "[framework][node]") {
    test::Inbox inbox;
    courier::Node node(alone("actor-timeout"));
    node.spawn("silent", [](courier::Actor& self) { self.handle<test::Ping>([](test::Ping&) {}); });
    node.spawn("asker", [&](courier::Actor& self) {
        self.request<test::Pong>("silent", test::Ping{1}, 30ms,
                                 [&](courier::Expected<test::Pong, courier::Error> r) {
                                     inbox.add(!r && r.error().code == courier::ErrorCode::timeout);
                                 });
    });
    REQUIRE(inbox.wait([](auto& in) { return !in.values.empty(); }));
    CHECK(inbox.values.front() == 1);
}

TEST_CASE("a send to an unknown name comes back to the sender as a dead letter",
          "[framework][node][dead-letter]") {
    test::Inbox inbox;
    courier::Node node(alone("dead-letter"));
    node.spawn("lost", [&](courier::Actor& self) {
        self.handle<courier::DeadLetter>([&](courier::DeadLetter& d) { inbox.add_dead(d); });
        self.send("nobody-here", test::Ping{7});
    });
    REQUIRE(inbox.wait([](auto& in) { return !in.dead.empty(); }));
    CHECK(inbox.dead.front().recipient == "nobody-here");
    CHECK(inbox.dead.front().type == courier::type_id_of<test::Ping>());
    CHECK(inbox.dead.front().code == courier::ErrorCode::unknown_name);
    CHECK(node.stats().dead_letters == 1);
}

TEST_CASE("a request to an unknown name fails at once with unknown_name", "[framework][node]") {
    courier::Node node(alone("unknown-request"));
    auto start = std::chrono::steady_clock::now();
    auto reply = node.request<test::Pong>("ghost", test::Ping{1}, 10s);
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().code == courier::ErrorCode::unknown_name);
    CHECK(std::chrono::steady_clock::now() - start < 5s);  // not by waiting for the timeout
    CHECK(node.stats().dead_letters == 1);
}

TEST_CASE("a handler that throws answers the request with handler_failed and keeps running",
          "[framework][node]") {
    courier::Node node(alone("handler-throws"));
    spawn_echo(node, "echo");
    auto failed = node.request<test::Pong>("echo", test::Boom{}, 5s);
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error().code == courier::ErrorCode::handler_failed);
    CHECK(failed.error().message == "boom");
    auto ok = node.request<test::Pong>("echo", test::Ping{1}, 5s);
    REQUIRE(ok.has_value());
    CHECK(node.stats().handler_failures == 1);
}

TEST_CASE("a message with no handler is a dead letter with no_handler", "[framework][node]") {
    courier::Node node(alone("no-handler"));
    node.spawn("picky", [](courier::Actor& self) { self.handle<test::Boom>([](test::Boom&) {}); });
    auto reply = node.request<test::Pong>("picky", test::Ping{1}, 5s);
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().code == courier::ErrorCode::no_handler);
}

TEST_CASE("a reply of another type than requested is unexpected_reply", "[framework][node]") {
    courier::Node node(alone("wrong-reply"));
    spawn_echo(node, "echo");
    auto reply = node.request<test::Ping>("echo", test::Ping{1}, 5s);
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().code == courier::ErrorCode::unexpected_reply);
}

TEST_CASE("spawning a name twice is refused", "[framework][node]") {
    courier::Node node(alone("twice"));
    spawn_echo(node, "echo");
    try {
        spawn_echo(node, "echo");
        FAIL("second spawn succeeded");
    } catch (const courier::SetupError& e) {
        CHECK(e.code() == courier::ErrorCode::name_taken);
    }
    CHECK_THROWS_AS(spawn_echo(node, "has space"), courier::SetupError);
    CHECK_THROWS_AS(spawn_echo(node, "$reserved"), courier::SetupError);
}

TEST_CASE("a node whose config cannot be read or is wrong fails with SetupError bad_config",
          "[framework][node]") {
    for (const char* text : {"[node\n", "[node]\nthreads = \"many\"\n", ""}) {
        config_support::TempFile file("node-bad-config", text);
        // An empty text stands for a file that is not there at all.
        if (*text == '\0') std::filesystem::remove(file.path());
        config_support::EnvGuard config("COURIER_CONFIG", file.path().c_str());
        try {
            courier::Node node(alone("configured"));
            FAIL("the node started with a bad config");
        } catch (const courier::SetupError& e) {
            CHECK(e.code() == courier::ErrorCode::bad_config);
            CHECK_THAT(e.what(), Catch::Contains(file.path().string()));
        }
    }
}

TEST_CASE("a node whose runtime directory cannot be made fails with SetupError os_error",
          "[framework][node]") {
    courier::NodeOptions options;
    options.name = "no-runtime-dir";
    options.config = courier::Config::defaults();
    options.registry.runtime_dir = "/dev/null/courier";  // under a file: mkdir fails
    try {
        courier::Node node(options);
        FAIL("the node started without its runtime directory");
    } catch (const courier::SetupError& e) {
        CHECK(e.code() == courier::ErrorCode::os_error);
        CHECK_THAT(e.what(), Catch::Contains("cannot create /dev/null"));
    }
}

namespace {
struct Counter : courier::Actor {
    Counter(std::atomic<int>& started, std::atomic<int>& stopped)
        : started_(started), stopped_(stopped) {
        handle<test::Ping>([this](test::Ping& p) {
            total_ += p.n;
            reply(test::Pong{total_});
        });
    }
    void on_start() override { ++started_; }
    void on_stop() override { ++stopped_; }
    std::atomic<int>& started_;
    std::atomic<int>& stopped_;
    int total_ = 0;
};
}  // namespace

TEST_CASE("a class actor starts before its first message and stops after its last",
          "[framework][node]") {
    std::atomic<int> started{0}, stopped{0};
    {
        courier::Node node(alone("class-actor"));
        node.spawn<Counter>("counter", started, stopped);
        CHECK(node.request<test::Pong>("counter", test::Ping{2}, 5s)->n == 2);
        CHECK(node.request<test::Pong>("counter", test::Ping{3}, 5s)->n == 5);
        CHECK(started == 1);
        node.stop("counter");
        auto after = node.request<test::Pong>("counter", test::Ping{1}, 5s);
        REQUIRE_FALSE(after.has_value());
        CHECK((after.error().code == courier::ErrorCode::unknown_name ||
               after.error().code == courier::ErrorCode::stopped));
        CHECK(stopped == 1);
        node.spawn<Counter>("counter", started, stopped);  // the name is free again
    }
    CHECK(started == 2);
    CHECK(stopped == 2);  // the node's destructor stopped the second one
}

TEST_CASE("in-process sends move the message without serializing it", "[framework][node]") {
    test::Inbox inbox;
    courier::Node node(alone("no-serialize"));
    node.spawn("sink", [&](courier::Actor& self) {
        self.handle<test::Counted>([&](test::Counted& c) { inbox.add(c.value); });
    });
    test::Counted::serializations = 0;
    node.send("sink", test::Counted{5});
    REQUIRE(inbox.wait([](auto& in) { return in.values.size() == 1; }));
    CHECK(inbox.values.front() == 5);
    CHECK(test::Counted::serializations == 0);
    CHECK(node.stats().sent_remote == 0);
    CHECK(node.stats().delivered_local == 1);
}

TEST_CASE("shutdown from a handler releases wait()", "[framework][node]") {
    courier::Node node(alone("shutdown"));
    node.spawn("quitter", [](courier::Actor& self) {
        self.handle<test::Ping>([&self](test::Ping&) { self.node().shutdown(); });
    });
    node.send("quitter", test::Ping{});
    node.wait();  // ctest's timeout catches a hang
    SUCCEED();
}

TEST_CASE("an actor's letters stay in order when its handler runs on different threads",
          "[framework][node]") {
    // The sender runs once per trigger, on whichever worker is free, so consecutive
    // sends come from different threads; the mailbox must still keep them in order.
    test::Inbox inbox;
    courier::NodeOptions options = alone("thread-hops");
    options.threads = 4;
    courier::Node node(options);
    node.spawn("sink", [&](courier::Actor& self) {
        self.handle<test::Ping>([&](test::Ping& ping) { inbox.add(ping.n); });
    });
    node.spawn("hopper", [](courier::Actor& self) {
        auto next = std::make_shared<int>(0);
        self.handle<test::Pong>([&self, next](test::Pong&) {
            for (int i = 0; i < 5; ++i) self.send("sink", test::Ping{(*next)++});
        });
    });
    constexpr int triggers = 4000;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < triggers / 4; ++i) node.send("hopper", test::Pong{});
        });
    for (auto& thread : threads) thread.join();
    REQUIRE(inbox.wait([](auto& in) { return in.values.size() == triggers * 5; }, 20s));
    for (std::size_t i = 0; i < inbox.values.size(); ++i)
        REQUIRE(inbox.values[i] == static_cast<int>(i));
}

TEST_CASE("letters from many sending actors on many workers each arrive in order",
          "[framework][node][mailbox]") {
    // Four actors send to one sink at once, on four workers: the sink's mailbox takes
    // letters from several threads at the same time, and each sender's must stay in order.
    constexpr int senders = 4, per_sender = 20000;
    courier::NodeOptions options = alone("many-senders");
    options.threads = 4;
    courier::Node node(options);
    std::mutex mutex;
    std::condition_variable done;
    std::vector<int> next(static_cast<std::size_t>(senders), 0);
    int received = 0;
    bool in_order = true;
    node.spawn("sink", [&](courier::Actor& self) {
        self.handle<test::Ping>([&](test::Ping& ping) {
            std::lock_guard lock(mutex);
            const int s = ping.n / per_sender, n = ping.n % per_sender;
            const auto at = static_cast<std::size_t>(s);
            if (s >= senders || n != next[at]) in_order = false;
            if (s < senders) next[at] = n + 1;
            if (++received == senders * per_sender) done.notify_all();
        });
    });
    for (int s = 0; s < senders; ++s)
        node.spawn("sender-" + std::to_string(s), [s](courier::Actor& self) {
            self.handle<test::Pong>([&self, s](test::Pong&) {
                for (int i = 0; i < per_sender; ++i)
                    self.send("sink", test::Ping{s * per_sender + i});
            });
        });
    for (int s = 0; s < senders; ++s) node.send("sender-" + std::to_string(s), test::Pong{});
    std::unique_lock lock(mutex);
    REQUIRE(done.wait_for(lock, 30s, [&] { return received == senders * per_sender; }));
    CHECK(in_order);
}

TEST_CASE("two actors bouncing a letter hand each other over between workers, many times",
          "[framework][node][mailbox]") {
    // Each hop makes the receiver's mailbox go from empty to one letter while the sender's
    // goes to sleep: the cell changes hands between workers on every hop, and a letter
    // handed over twice, or a cell run by two workers at once, shows as a wrong count.
    constexpr int hops = 20000;
    courier::NodeOptions options = alone("bounce");
    options.threads = 2;
    courier::Node node(options);
    test::Inbox inbox;
    node.spawn("pong", [](courier::Actor& self) {
        self.handle<test::Ping>(
            [&self](test::Ping& ping) { self.send("ping", test::Pong{ping.n}); });
    });
    node.spawn("ping", [&](courier::Actor& self) {
        auto expected = std::make_shared<int>(0);
        self.handle<test::Pong>([&self, &inbox, expected](test::Pong& pong) {
            if (pong.n != *expected) inbox.add(-1);  // out of order or repeated
            if (++*expected == hops)
                inbox.add(pong.n);
            else
                self.send("pong", test::Ping{*expected});
        });
    });
    node.send("pong", test::Ping{0});
    REQUIRE(inbox.wait([](auto& in) { return !in.values.empty(); }, 30s));
    CHECK(inbox.values == std::vector<int>{hops - 1});
}

namespace {
int twice_plus_one(const test::Ping& ping) {
    return 2 * ping.n + 1;
}
void on_boom(test::Boom&) {
    throw std::runtime_error("boom by function pointer");
}
}  // namespace

TEST_CASE("handle takes the message type from the handler's parameter", "[framework][node]") {
    // The type argument is read from the one parameter: M&, const M&, M, M&&.
    static_assert(
        std::is_same_v<courier::detail::handled_message_t<void (*)(test::Ping&)>, test::Ping>);
    static_assert(
        std::is_same_v<courier::detail::handled_message_t<void(const test::Ping&)>, test::Ping>);
    static_assert(courier::detail::MessageHandler<void (*)(test::Pong)>);
    static_assert(!courier::detail::MessageHandler<void (*)(int)>);
    static_assert(!courier::detail::MessageHandler<void (*)(test::Ping&, int)>);

    courier::Node node(alone("deduced-handlers"));
    node.spawn("by-reference", [](courier::Actor& self) {
        self.handle([&self](test::Ping& ping) { self.reply(test::Pong{ping.n + 1}); });
    });
    node.spawn("by-const-reference", [](courier::Actor& self) {
        self.handle([&self](const test::Ping& ping) { self.reply(test::Pong{ping.n + 2}); });
    });
    node.spawn("by-value", [](courier::Actor& self) {
        // mutable: its operator() is not const
        self.handle([&self, calls = 0](test::Ping ping) mutable {
            self.reply(test::Pong{ping.n + 3 + calls++});
        });
    });
    node.spawn("by-rvalue", [](courier::Actor& self) {
        self.handle([&self](test::Ping&& ping) { self.reply(test::Pong{ping.n + 4}); });
    });
    node.spawn("by-function", [](courier::Actor& self) {
        self.handle(+[](test::Ping&) {});  // a function pointer
        self.handle(on_boom);              // a function
        self.handle<test::Pong>([&self](test::Pong& pong) {
            self.reply(test::Pong{twice_plus_one(test::Ping{pong.n})});
        });
    });

    CHECK(node.request<test::Pong>("by-reference", test::Ping{10}, 5s)->n == 11);
    CHECK(node.request<test::Pong>("by-const-reference", test::Ping{10}, 5s)->n == 12);
    CHECK(node.request<test::Pong>("by-value", test::Ping{10}, 5s)->n == 13);
    CHECK(node.request<test::Pong>("by-value", test::Ping{10}, 5s)->n == 14);
    CHECK(node.request<test::Pong>("by-rvalue", test::Ping{10}, 5s)->n == 14);
    CHECK(node.request<test::Pong>("by-function", test::Pong{10}, 5s)->n == 21);
    auto boom = node.request<test::Pong>("by-function", test::Boom{}, 5s);
    REQUIRE_FALSE(boom.has_value());
    CHECK(boom.error().message == "boom by function pointer");
    // The function pointer's handler ran (no no_handler dead letter) and did not answer.
    auto silent = node.request<test::Pong>("by-function", test::Ping{1}, 50ms);
    REQUIRE_FALSE(silent.has_value());
    CHECK(silent.error().code == courier::ErrorCode::timeout);
}
