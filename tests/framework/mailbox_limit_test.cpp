// Mailbox limits in one process (docs/flow_control.md): what a full mailbox does under
// each Overflow policy, and what each kind of sender sees: a thread outside the actors
// waits (block) or is told (fail, drop_newest; drop_oldest keeps the newest); an actor is parked
// after its turn, so memory stays bounded and nobody deadlocks.
#include <courier/courier.hpp>

#include "test_messages.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using courier::MailboxLimit;
using courier::Overflow;
using Clock = std::chrono::steady_clock;

namespace test {
/// The next step of an actor that sends in batches, one batch a turn.
struct Continue {
    template <class A>
    void serialize(A&) {}
};
}  // namespace test
COURIER_MESSAGE(test::Continue, "test.mailbox.Continue");

namespace {

courier::NodeOptions alone(std::string name, std::size_t threads = 2) {
    courier::NodeOptions options;
    options.name = std::move(name);
    options.use_registry = false;
    options.handle_signals = false;
    options.threads = threads;
    return options;
}

/// Holds a handler until the test opens it, and says when one is held.
class Gate {
  public:
    void pass() {
        std::unique_lock lock(mutex_);
        held_ = true;
        changed_.notify_all();
        changed_.wait(lock, [this] { return open_; });
    }
    bool wait_held(std::chrono::milliseconds within = 10s) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, within, [this] { return held_; });
    }
    void open() {
        std::lock_guard lock(mutex_);
        open_ = true;
        changed_.notify_all();
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    bool held_ = false, open_ = false;
};

/// Waits until `done` holds, up to `within`.
template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds within = 20s) {
    const auto deadline = Clock::now() + within;
    while (!done()) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

courier::MailboxStats stats_of(const courier::Node& node, const std::string& name) {
    for (auto& stats : node.mailboxes())
        if (stats.name == name) return stats;
    FAIL("no mailbox named " << name);
    return {};
}

/// A node whose actor `name`, of the given limit, counts its Pings (and answers them when
/// asked) and is held in a Go until gate.open(): its mailbox fills as the test sends.
/// What its actors use comes before the node, which stops them as it goes.
struct Held {
    Gate gate;
    std::mutex mutex;
    std::vector<int> pings;
    courier::Node node;

    Held(courier::NodeOptions options, const std::string& name, MailboxLimit limit)
        : node(std::move(options)) {
        std::promise<void> started;
        node.spawn(name, [&, limit](courier::Actor& self) {
            self.mailbox_limit(limit);
            self.handle([this](test::Go&) { gate.pass(); });
            self.handle([&self, this](test::Ping& ping) {
                {
                    std::lock_guard lock(mutex);
                    pings.push_back(ping.n);
                }
                if (!self.sender().empty()) self.reply(test::Pong{ping.n});  // a request's
            });
            started.set_value();
        });
        started.get_future().wait();  // its limit is set
        REQUIRE(node.send(name, test::Go{}));
        REQUIRE(gate.wait_held());  // it handles the Go: its mailbox is empty, and fills now
    }
    std::vector<int> handled() {
        std::lock_guard lock(mutex);
        return pings;
    }
    bool handled_all(std::size_t count) {
        return eventually([&] { return handled().size() == count; });
    }
};

}  // namespace

TEST_CASE(
    "Overflow::fail refuses what does not fit: Node::send says mailbox_full, a request "
    "fails at once, an actor gets DeadLetter",
    "[framework][mailbox_limit]") {
    std::promise<courier::DeadLetter> bounced;  // before the node: its actors use it
    Held held(alone("fail"), "slow", {4, std::size_t{1} << 20, Overflow::fail});
    courier::Node& node = held.node;
    for (int i = 0; i < 4; ++i) REQUIRE(node.send("slow", test::Ping{i}));
    auto refused = node.send("slow", test::Ping{4});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == courier::ErrorCode::mailbox_full);
    CHECK_THAT(refused.error().message,
               Catch::Contains("the mailbox of 'slow' is full (4 letters"));
    const auto asked = Clock::now();
    auto answer = node.request<test::Pong>("slow", test::Ping{5}, 30s);
    REQUIRE_FALSE(answer);
    CHECK(answer.error().code == courier::ErrorCode::mailbox_full);
    CHECK(Clock::now() - asked < 10s);  // told, not timed out
    node.spawn("sender", [&](courier::Actor& self) {
        self.handle([&bounced](courier::DeadLetter& dead) { bounced.set_value(dead); });
        self.send("slow", test::Ping{6});
    });
    auto future = bounced.get_future();
    REQUIRE(future.wait_for(10s) == std::future_status::ready);
    const auto dead = future.get();
    CHECK(dead.code == courier::ErrorCode::mailbox_full);
    CHECK(dead.recipient == "slow");

    held.gate.open();
    REQUIRE(held.handled_all(4));
    const auto stats = stats_of(node, "slow");
    CHECK(stats.refused == 3);
    CHECK(stats.dropped == 0);
    CHECK(stats.limit.letters == 4);
    CHECK(stats.high_water >= 4);
    CHECK(held.handled() == std::vector<int>{0, 1, 2, 3});
}

TEST_CASE("Overflow::drop_newest drops what does not fit, counts it, and does not bounce it",
          "[framework][mailbox_limit]") {
    std::promise<int> dead_letters;  // before the node: its actors use it
    Held held(alone("drop"), "slow", {2, std::size_t{1} << 20, Overflow::drop_newest});
    courier::Node& node = held.node;
    REQUIRE(node.send("slow", test::Ping{0}));
    REQUIRE(node.send("slow", test::Ping{1}));
    auto dropped = node.send("slow", test::Ping{2});
    REQUIRE_FALSE(dropped);
    CHECK(dropped.error().code == courier::ErrorCode::mailbox_full);
    CHECK_THAT(dropped.error().message, Catch::EndsWith("dropped"));
    // An actor's letter is dropped too, and it is not told: the DeadLetter would come
    // before its own next letter.
    node.spawn("sender", [&](courier::Actor& self) {
        auto seen = std::make_shared<int>(0);
        self.handle([seen](courier::DeadLetter&) { ++*seen; });
        self.handle([seen, &dead_letters](test::Continue&) { dead_letters.set_value(*seen); });
        self.send("slow", test::Ping{3});
        self.send(self.name(), test::Continue{});
    });
    auto future = dead_letters.get_future();
    REQUIRE(future.wait_for(10s) == std::future_status::ready);
    CHECK(future.get() == 0);
    held.gate.open();
    REQUIRE(held.handled_all(2));
    CHECK(stats_of(node, "slow").dropped == 2);
    CHECK(node.stats().dead_letters == 2);  // counted and logged as dead letters
    CHECK(held.handled() == std::vector<int>{0, 1});
}

TEST_CASE(
    "Overflow::drop_oldest keeps the newest letters: the oldest are dropped, counted, not "
    "bounced, and a mailbox a whole limit behind drops the newest",
    "[framework][mailbox_limit]") {
    Held held(alone("drop-oldest"), "slow", {2, std::size_t{1} << 20, Overflow::drop_oldest});
    courier::Node& node = held.node;
    for (int i = 0; i < 4; ++i) REQUIRE(node.send("slow", test::Ping{i}));
    // Twice the limit waits now: the next is dropped as under drop_newest.
    auto dropped = node.send("slow", test::Ping{4});
    REQUIRE_FALSE(dropped);
    CHECK(dropped.error().code == courier::ErrorCode::mailbox_full);
    CHECK_THAT(dropped.error().message, Catch::EndsWith("dropped"));
    held.gate.open();
    REQUIRE(held.handled_all(2));
    CHECK(held.handled() == std::vector<int>{2, 3});
    const auto stats = stats_of(node, "slow");
    CHECK(stats.dropped == 3);
    CHECK(stats.refused == 0);
    CHECK(node.stats().dead_letters == 3);
}

TEST_CASE("Overflow::block makes a thread outside the actors wait for room, up to send_timeout",
          "[framework][mailbox_limit]") {
    auto options = alone("block-outside");
    options.send_timeout = 300ms;
    Held held(options, "slow", {2, std::size_t{1} << 20, Overflow::block});
    courier::Node& node = held.node;
    REQUIRE(node.send("slow", test::Ping{0}));
    REQUIRE(node.send("slow", test::Ping{1}));

    const auto start = Clock::now();
    auto late = node.send("slow", test::Ping{2});
    const auto waited = Clock::now() - start;
    REQUIRE_FALSE(late);
    CHECK(late.error().code == courier::ErrorCode::mailbox_full);
    CHECK_THAT(late.error().message, Catch::Contains("stayed full for 300 ms"));
    CHECK(waited >= 300ms);
    auto asked = node.request<test::Pong>("slow", test::Ping{3}, 30s);
    REQUIRE_FALSE(asked);
    CHECK(asked.error().code == courier::ErrorCode::mailbox_full);
    held.gate.open();
    REQUIRE(held.handled_all(2));
    CHECK(stats_of(node, "slow").blocked_us >= 600'000);  // both waits
}

TEST_CASE("Overflow::block: a waiting thread goes on once the mailbox has room, in order",
          "[framework][mailbox_limit]") {
    auto options = alone("block-room");
    options.send_timeout = 20s;
    Held held(options, "slow", {2, std::size_t{1} << 20, Overflow::block});
    courier::Node& node = held.node;
    std::atomic<int> sent{0};
    Clock::time_point last_sent;
    std::thread outside([&] {
        for (int i = 0; i < 10; ++i) {
            if (!node.send("slow", test::Ping{i})) return;
            ++sent;
        }
        last_sent = Clock::now();
    });
    // Two go in; the third waits. (Watched for 50 ms: a send that did not wait would have
    // sent all ten in far less.)
    REQUIRE(eventually([&] { return sent >= 2; }));
    std::this_thread::sleep_for(50ms);
    CHECK(sent == 2);
    const auto opened = Clock::now();
    held.gate.open();
    outside.join();
    CHECK(sent == 10);
    CHECK(last_sent >= opened);
    REQUIRE(held.handled_all(10));
    CHECK(held.handled() == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

namespace {

/// Sends `total` Pings to `to` in batches of `batch` a turn (a Continue to itself between),
/// then says so.
void spawn_batch_sender(courier::Node& node, const std::string& name, const std::string& to,
                        int total, int batch, std::promise<void>& done) {
    node.spawn(name, [=, &done](courier::Actor& self) {
        auto next = std::make_shared<int>(0);
        self.handle([=, &self, &done](test::Continue&) {
            for (int i = 0; i < batch && *next < total; ++i) self.send(to, test::Ping{(*next)++});
            if (*next < total)
                self.send(self.name(), test::Continue{});
            else
                done.set_value();
        });
        self.send(self.name(), test::Continue{});
    });
}

/// Spins for `us` microseconds: a consumer slower than its producer, on purpose.
void busy(std::chrono::microseconds us) {
    const auto until = Clock::now() + us;
    while (Clock::now() < until) {
    }
}

}  // namespace

TEST_CASE(
    "Overflow::block parks an actor that sends into a full mailbox: the mailbox holds at "
    "most its limit and one turn's sends, and everything arrives in order",
    "[framework][mailbox_limit]") {
    const std::size_t threads = GENERATE(std::size_t{1}, std::size_t{2});
    INFO(threads << " worker threads");
    std::promise<void> received, started, sent;  // before the node: its actors use them
    courier::Node node(alone("parked", threads));
    constexpr int total = 3000, batch = 8;
    constexpr std::size_t limit = 16;
    node.spawn("consumer", [&](courier::Actor& self) {
        self.mailbox_limit({limit, std::size_t{1} << 20, Overflow::block});
        auto next = std::make_shared<int>(0);
        auto in_order = std::make_shared<bool>(true);
        self.handle([=, &received](test::Ping& ping) {
            busy(20us);
            *in_order = *in_order && ping.n == *next;
            if (++*next == total && *in_order) received.set_value();
        });
        started.set_value();
    });
    started.get_future().wait();
    spawn_batch_sender(node, "producer", "consumer", total, batch, sent);
    REQUIRE(sent.get_future().wait_for(30s) == std::future_status::ready);
    REQUIRE(received.get_future().wait_for(30s) == std::future_status::ready);
    const auto stats = stats_of(node, "consumer");
    INFO("high water " << stats.high_water << ", senders slowed for " << stats.blocked_us << " us");
    CHECK(stats.high_water <= limit + batch);
    CHECK(stats.high_water >= limit);  // it did fill up: the producer was faster
    CHECK(stats.blocked_us > 0);
    CHECK(stats.refused == 0);
    CHECK(node.stats().dead_letters == 0);
}

TEST_CASE(
    "Overflow::block never refuses an actor's send: one turn may send many, and the "
    "actor waits after it",
    "[framework][mailbox_limit]") {
    std::promise<void> received, started;  // before the node: its actors use them
    courier::Node node(alone("one-turn", 1));
    constexpr int total = 2000;
    node.spawn("consumer", [&](courier::Actor& self) {
        self.mailbox_limit({8, std::size_t{1} << 20, Overflow::block});
        auto count = std::make_shared<int>(0);
        self.handle([=, &received](test::Ping&) {
            if (++*count == total) received.set_value();
        });
        started.set_value();
    });
    started.get_future().wait();
    node.spawn("producer", [&](courier::Actor& self) {
        for (int i = 0; i < total; ++i) self.send("consumer", test::Ping{i});
    });
    REQUIRE(received.get_future().wait_for(30s) == std::future_status::ready);
    CHECK(stats_of(node, "consumer").refused == 0);
    CHECK(node.stats().dead_letters == 0);
}

TEST_CASE("two actors flooding each other through small mailboxes do not deadlock",
          "[framework][mailbox_limit]") {
    const std::size_t threads = GENERATE(std::size_t{1}, std::size_t{2}, std::size_t{4});
    INFO(threads << " worker threads");
    struct Side {
        std::promise<void> sent, received;
    } a, b;  // before the node, whose actors use them until it is gone
    courier::Node node(alone("flood", threads));
    constexpr int total = 5000, batch = 8;
    const auto spawn_side = [&](const std::string& name, const std::string& peer, Side& side) {
        node.spawn(name, [=, &side](courier::Actor& self) {
            self.mailbox_limit({4, std::size_t{1} << 20, Overflow::block});
            auto next = std::make_shared<int>(0), got = std::make_shared<int>(0);
            self.handle([=, &self, &side](test::Continue&) {
                for (int i = 0; i < batch && *next < total; ++i)
                    self.send(peer, test::Ping{(*next)++});
                if (*next < total)
                    self.send(self.name(), test::Continue{});
                else
                    side.sent.set_value();
            });
            self.handle([=, &side](test::Ping& ping) {
                if (ping.n == *got && ++*got == total) side.received.set_value();
            });
        });
    };
    spawn_side("a", "b", a);
    spawn_side("b", "a", b);
    REQUIRE(node.send("a", test::Continue{}));
    REQUIRE(node.send("b", test::Continue{}));
    for (Side* side : {&a, &b}) {
        REQUIRE(side->sent.get_future().wait_for(30s) == std::future_status::ready);
        REQUIRE(side->received.get_future().wait_for(30s) == std::future_status::ready);
    }
    CHECK(node.stats().dead_letters == 0);
}

TEST_CASE("an actor parked on a full mailbox still stops at once when told",
          "[framework][mailbox_limit]") {
    std::promise<void> stopped;  // before the node: its actors use it
    Held held(alone("stop-parked"), "slow", {2, std::size_t{1} << 20, Overflow::block});
    courier::Node& node = held.node;
    struct Producer : courier::Actor {
        explicit Producer(std::promise<void>& s) : stopped(s) {}
        void on_start() override {
            for (int i = 0; i < 4; ++i) send("slow", test::Ping{i});  // parked after this turn
        }
        void on_stop() override { stopped.set_value(); }
        std::promise<void>& stopped;
    };
    node.spawn<Producer>("producer", std::ref(stopped));
    REQUIRE(eventually([&] { return stats_of(node, "slow").depth == 4; }));
    node.stop("producer");
    CHECK(stopped.get_future().wait_for(10s) == std::future_status::ready);
    held.gate.open();
}

TEST_CASE(
    "a letter with a priority is handled before the letters of lower priority queued "
    "before it",
    "[framework][mailbox_limit][priority]") {
    std::promise<void> sent;  // before the node: its actors use it
    Held held(alone("priority"), "busy", {10'000, std::size_t{1} << 20, Overflow::block});
    courier::Node& node = held.node;
    node.spawn("sender", [&sent](courier::Actor& self) {
        for (int i = 0; i < 1000; ++i) self.send("busy", test::Ping{i});
        self.send("busy", test::Ping{-2}, 100);
        self.send("busy", test::Ping{-1}, 255);
        self.send("busy", test::Ping{-3}, 100);
        sent.set_value();
    });
    REQUIRE(sent.get_future().wait_for(10s) == std::future_status::ready);
    held.gate.open();
    REQUIRE(held.handled_all(1003));
    const auto pings = held.handled();
    CHECK(pings[0] == -1);  // 255 first, then the two of 100 in their order
    CHECK(pings[1] == -2);
    CHECK(pings[2] == -3);
    for (int i = 0; i < 1000; ++i) REQUIRE(pings[static_cast<std::size_t>(i) + 3] == i);
}
