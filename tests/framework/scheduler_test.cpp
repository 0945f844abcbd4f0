// The scheduler: workers run real actor cells one thread at a time, stop() joins them, an
// idle worker polls the links, and a manual scheduler (0 threads) runs only when stepped.
//
// The cells come from a NodeCore built here with no registry: a cell reaches its
// scheduler through its node, so testing the scheduler with real cells means a node's
// inside around it (NodeCore: start, adopt, post, stop_actor, stop, scheduler).

#include "scheduler.hpp"
#include "node_core.hpp"

#include <courier/courier.hpp>
#include <courier/spin_lock.hpp>

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using courier::detail::IdlePoll;
using courier::detail::NodeCore;
using courier::detail::Scheduler;

namespace sched_test {
struct Tick {
    int n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
}  // namespace sched_test

COURIER_MESSAGE(sched_test::Tick, "scheduler_test.Tick");

namespace {

using sched_test::Tick;
using Clock = std::chrono::steady_clock;

courier::NodeOptions alone(std::string name, std::size_t threads) {
    courier::NodeOptions options;
    options.name = std::move(name);
    options.threads = threads;
    options.use_registry = false;
    return options;
}

/// An actor whose handlers `setup` registers when it starts (as Node::spawn's).
struct SetUp final : courier::Actor {
    explicit SetUp(std::function<void(courier::Actor&)> f) : setup(std::move(f)) {}
    void on_start() override { setup(*this); }
    std::function<void(courier::Actor&)> setup;
};

/// A node's inside whose scheduler has `threads` workers (0: manual). `owner` only stands
/// for the actors' node() (a NodeCore needs one); its own workers never see these cells.
struct Core {
    explicit Core(std::size_t threads)
        : core(owner, alone("scheduler-test", threads), /*by_hand=*/threads == 0) {
        core.start();
    }
    ~Core() {
        if (scheduler_stopped) return;  // its cells can no longer run to their end
        if (!scheduler().manual()) {
            core.stop();
            return;
        }
        for (const auto& name : names) core.stop_actor(name);
        scheduler().run_until_idle();
    }
    Core(const Core&) = delete;
    Core& operator=(const Core&) = delete;

    Scheduler& scheduler() { return core.scheduler(); }
    void spawn(const std::string& name, std::function<void(courier::Actor&)> setup) {
        core.adopt(name, std::make_unique<SetUp>(std::move(setup)));
        names.push_back(name);
    }
    void send(const std::string& to, int n) {
        core.router().post(courier::detail::make_letter(Tick{n}, std::string(), to));
    }

    courier::Node owner{alone("scheduler-test-owner", 1)};
    NodeCore core;
    std::vector<std::string> names;
    bool scheduler_stopped = false;
};

std::string thread_name() {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    return name;
}

/// The scheduling state ('R' running or runnable, 'S' asleep, ...) of each thread of
/// this process named courier-worker.
std::vector<char> worker_states() {
    std::vector<char> states;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::string comm, stat;
        std::getline(std::ifstream(task.path() / "comm"), comm);
        std::getline(std::ifstream(task.path() / "stat"), stat);
        const auto paren = stat.rfind(')');  // "tid (comm) S ...": comm may hold spaces
        if (comm == "courier-worker" && paren != std::string::npos && paren + 2 < stat.size())
            states.push_back(stat[paren + 2]);
    }
    return states;
}

/// Polls `done` until it holds or `timeout` passes; its last answer.
template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
        if (Clock::now() >= deadline) return done();
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

}  // namespace

TEST_CASE("a cell the scheduler queues runs on one of its workers, not on the sending thread",
          "[framework][scheduler]") {
    Core node(2);
    std::promise<std::pair<std::thread::id, std::string>> ran;
    node.spawn("worked", [&](courier::Actor& self) {
        self.handle<Tick>([&](Tick&) {
            ran.set_value({std::this_thread::get_id(), thread_name()});
        });
    });
    node.send("worked", 1);
    auto where = ran.get_future();
    REQUIRE(where.wait_for(10s) == std::future_status::ready);
    const auto [thread, name] = where.get();
    CHECK(thread != std::this_thread::get_id());
    CHECK(name == "courier-worker");
}

TEST_CASE("an actor never runs on two threads at once, however many threads send to it",
          "[framework][scheduler]") {
    constexpr std::size_t actors = 6;            // more than workers: cells wait, and hand over
    constexpr int senders = 3, letters = 10000;  // letters per sender and actor
    struct Count {
        std::atomic<bool> inside{false};
        std::atomic<int> overlaps{0};
        std::atomic<int> handled{0};
        int unguarded = 0;  // only the exclusion keeps its increments whole
    };
    std::vector<Count> counts(actors);
    Core node(4);
    for (std::size_t i = 0; i < actors; ++i)
        node.spawn("counted" + std::to_string(i), [&count = counts[i]](courier::Actor& self) {
            self.handle<Tick>([&count](Tick&) {
                if (count.inside.exchange(true, std::memory_order_acquire)) ++count.overlaps;
                const int seen = count.unguarded;
                for (int k = 0; k < 20; ++k) courier::detail::cpu_relax();  // a window to overlap
                count.unguarded = seen + 1;
                count.inside.store(false, std::memory_order_release);
                count.handled.fetch_add(1, std::memory_order_release);
            });
        });
    {
        std::vector<std::jthread> threads;
        for (int s = 0; s < senders; ++s)
            threads.emplace_back([&] {
                for (int n = 0; n < letters; ++n)
                    for (std::size_t i = 0; i < actors; ++i)
                        node.send("counted" + std::to_string(i), n);
            });
    }
    const auto overlapped = [&] {
        return std::any_of(counts.begin(), counts.end(),
                           [](const Count& c) { return c.overlaps.load() != 0; });
    };
    const auto all_handled = [&] {
        return std::all_of(counts.begin(), counts.end(), [](const Count& c) {
            return c.handled.load(std::memory_order_acquire) == senders * letters;
        });
    };
    (void)eventually([&] { return overlapped() || all_handled(); }, 30s);
    CHECK_FALSE(overlapped());
    REQUIRE(all_handled());
    for (const auto& count : counts) CHECK(count.unguarded == senders * letters);
}

TEST_CASE("stop() lets the turn being run finish, then joins the workers",
          "[framework][scheduler]") {
    Core node(2);
    REQUIRE(eventually([] { return worker_states().size() == 1 + 2; }));  // owner's and ours
    std::binary_semaphore entered{0}, go_on{0};
    std::atomic<bool> finished{false};
    node.spawn("slow", [&](courier::Actor& self) {
        self.handle<Tick>([&](Tick&) {
            entered.release();
            (void)go_on.try_acquire_for(10s);
            finished = true;
        });
    });
    node.send("slow", 1);
    REQUIRE(entered.try_acquire_for(10s));

    auto stopped = std::async(std::launch::async, [&] {
        node.scheduler().stop();
        return finished.load();
    });
    // The handler still runs: stop() must wait for it.
    CHECK(stopped.wait_for(100ms) == std::future_status::timeout);
    go_on.release();
    REQUIRE(stopped.wait_for(10s) == std::future_status::ready);
    CHECK(stopped.get());
    node.scheduler_stopped = true;
    CHECK(eventually([] { return worker_states().size() == 1; }));  // the owner's alone
}

TEST_CASE(
    "a manual scheduler runs nothing until stepped, then one turn at a time on the "
    "stepping thread",
    "[framework][scheduler]") {
    Core node(0);
    REQUIRE(node.scheduler().manual());
    REQUIRE(eventually([] { return worker_states().size() == 1; }));  // the owner's
    std::vector<std::string> log;  // only the stepping thread touches it
    std::vector<std::thread::id> threads;
    node.spawn("a", [&](courier::Actor& self) {
        log.push_back("a started");
        self.handle<Tick>([&](Tick& tick) {
            log.push_back("a got " + std::to_string(tick.n));
            threads.push_back(std::this_thread::get_id());
            self.send("b", Tick{tick.n + 1});
        });
    });
    node.spawn("b", [&](courier::Actor& self) {
        log.push_back("b started");
        self.handle<Tick>([&](Tick& tick) {
            log.push_back("b got " + std::to_string(tick.n));
            threads.push_back(std::this_thread::get_id());
        });
    });
    CHECK(log.empty());

    // Each step runs the cell queued first: a's start, then b's.
    REQUIRE(node.scheduler().run_one());
    CHECK(log == std::vector<std::string>{"a started"});
    REQUIRE(node.scheduler().run_one());
    CHECK(log == std::vector<std::string>{"a started", "b started"});
    CHECK_FALSE(node.scheduler().run_one());
    log.clear();

    // A sent 2 to b: b is queued by a's turn, not run in it.
    node.send("a", 1);
    CHECK(log.empty());
    REQUIRE(node.scheduler().run_one());
    CHECK(log == std::vector<std::string>{"a got 1"});
    REQUIRE(node.scheduler().run_one());
    CHECK(log == std::vector<std::string>{"a got 1", "b got 2"});
    CHECK_FALSE(node.scheduler().run_one());
    CHECK(threads == std::vector<std::thread::id>(2, std::this_thread::get_id()));
    log.clear();

    // Two letters for a are one turn of a, then one of b for both of its letters.
    node.send("a", 10);
    node.send("a", 20);
    CHECK(node.scheduler().run_until_idle() == 2);
    CHECK(log == std::vector<std::string>{"a got 10", "a got 20", "b got 11", "b got 21"});
    CHECK(node.scheduler().run_until_idle() == 0);
    CHECK(worker_states().size() == 1);  // a manual scheduler started none
}

TEST_CASE(
    "a manual scheduler runs cells in the order they became ready, a long mailbox "
    "going behind the others after its turn",
    "[framework][scheduler]") {
    Core node(0);
    int a = 0, b = 0;
    node.spawn("a", [&](courier::Actor& self) { self.handle<Tick>([&](Tick&) { ++a; }); });
    node.spawn("b", [&](courier::Actor& self) { self.handle<Tick>([&](Tick&) { ++b; }); });
    REQUIRE(node.scheduler().run_until_idle() == 2);  // their starts

    constexpr int many = 1000;  // more than a turn
    for (int n = 0; n < many; ++n) node.send("a", n);
    node.send("b", 0);
    REQUIRE(node.scheduler().run_one());
    CHECK(a > 0);
    CHECK(a < many);
    CHECK(b == 0);
    const int after_one_turn = a;
    REQUIRE(node.scheduler().run_one());
    CHECK(b == 1);
    CHECK(a == after_one_turn);
    CHECK(node.scheduler().run_until_idle(1) == 1);  // the bound holds
    CHECK(a == 2 * after_one_turn);
    node.scheduler().run_until_idle();
    CHECK(a == many);
}

TEST_CASE("a manual scheduler waits for a cell another thread makes ready, up to a deadline",
          "[framework][scheduler]") {
    Core node(0);
    std::atomic<int> got{0};
    node.spawn("a", [&](courier::Actor& self) { self.handle<Tick>([&](Tick& t) { got = t.n; }); });
    REQUIRE(node.scheduler().run_until_idle() == 1);

    const auto before = Clock::now();
    CHECK_FALSE(node.scheduler().wait_ready(before + 50ms));
    CHECK(Clock::now() - before >= 50ms);

    // The letter comes while the test waits (most likely): the wait must end then, not at
    // its deadline.
    std::jthread sender([&] {
        std::this_thread::sleep_for(20ms);
        node.send("a", 7);
    });
    const auto waiting = Clock::now();
    REQUIRE(node.scheduler().wait_ready(waiting + 20s));
    CHECK(Clock::now() - waiting < 10s);
    CHECK(got == 0);
    REQUIRE(node.scheduler().run_one());
    CHECK(got == 7);
}

TEST_CASE("a stopped manual scheduler runs nothing more", "[framework][scheduler]") {
    Core node(0);
    bool started = false;
    node.spawn("a", [&](courier::Actor&) { started = true; });
    node.scheduler().stop();
    node.scheduler_stopped = true;
    CHECK_FALSE(node.scheduler().run_one());
    CHECK_FALSE(node.scheduler().wait_ready(Clock::now()));
    CHECK_FALSE(started);
}

TEST_CASE("a scheduler with workers refuses to be stepped by hand", "[framework][scheduler]") {
    Scheduler scheduler(1, 0us);
    CHECK_FALSE(scheduler.manual());
    CHECK_THROWS_AS(scheduler.run_one(), std::logic_error);
    CHECK_THROWS_AS(scheduler.run_until_idle(), std::logic_error);
    CHECK_THROWS_AS(scheduler.wait_ready(Clock::now()), std::logic_error);
}

namespace {
/// Records who polls, and how many at once.
struct CountingPoll final : IdlePoll {
    explicit CountingPoll(bool links_in_memory = true) : in_memory(links_in_memory) {}
    bool polling(bool on) noexcept override {
        if (on) {
            const int now = ++polling_now;
            int most_seen = most.load();
            while (now > most_seen && !most.compare_exchange_weak(most_seen, now)) {
            }
            ++ons;
        } else {
            --polling_now;
            ++offs;
        }
        return on && in_memory;
    }
    bool poll(bool descriptors) override {
        if (descriptors) ++polls_with_descriptors;
        if (polling_now.load() != 1) ++polls_unannounced;
        if (thread_name() != "courier-worker") ++polls_elsewhere;
        ++polls;
        return false;
    }
    bool yield_while_polling() const noexcept override {
        if (polling_now.load() != 1) ++yield_asks_unannounced;
        ++yield_asks;
        return yields;
    }
    std::atomic<int> polling_now{0}, most{0}, ons{0}, offs{0};
    std::atomic<int> polls{0}, polls_unannounced{0}, polls_elsewhere{0};
    std::atomic<int> polls_with_descriptors{0};
    mutable std::atomic<int> yield_asks{0}, yield_asks_unannounced{0};
    const bool in_memory;
    bool yields = false;  ///< a polled link's frames come from a thread of its own
};
}  // namespace

TEST_CASE("one idle worker at a time polls the links, and stops polling before it sleeps",
          "[framework][scheduler]") {
    CountingPoll links;
    // Spins long enough that two idle workers would overlap if both polled.
    Scheduler scheduler(2, std::chrono::microseconds(20ms), &links);
    REQUIRE(eventually([] {
        const auto states = worker_states();
        return states.size() == 2 &&
               std::all_of(states.begin(), states.end(), [](char s) { return s == 'S'; });
    }));
    CHECK(links.polls.load() > 0);
    CHECK(links.most.load() == 1);
    CHECK(links.polls_unannounced.load() == 0);
    CHECK(links.polls_elsewhere.load() == 0);
    // Both asleep: whoever polled said it stopped.
    CHECK(links.polling_now.load() == 0);
    CHECK(links.ons.load() == links.offs.load());
    scheduler.stop();
}

TEST_CASE("a worker that shares its CPU spins only for links polled in memory, yielding",
          "[framework][scheduler]") {
    SECTION("links polled in memory: polled, never through descriptors") {
        CountingPoll links(/*links_in_memory=*/true);
        Scheduler scheduler(1, std::chrono::microseconds(20ms), &links, /*yielding=*/true);
        REQUIRE(eventually([] {
            const auto states = worker_states();
            return states.size() == 1 && states[0] == 'S';
        }));
        CHECK(links.polls.load() > 0);
        CHECK(links.polls_with_descriptors.load() == 0);
        CHECK(links.ons.load() == links.offs.load());
        scheduler.stop();
    }
    SECTION("only links read through descriptors: no spin, no poll") {
        CountingPoll links(/*links_in_memory=*/false);
        Scheduler scheduler(1, std::chrono::microseconds(20ms), &links, /*yielding=*/true);
        REQUIRE(eventually([] {
            const auto states = worker_states();
            return states.size() == 1 && states[0] == 'S';
        }));
        CHECK(links.polls.load() == 0);
        CHECK(links.ons.load() == links.offs.load());
        scheduler.stop();
    }
}

TEST_CASE("a worker polling links that a thread of their own fills asks at every turn to yield",
          "[framework][scheduler]") {
    // sysv:'s waiter thread must get a CPU before the poller can see a frame: the poller
    // must not spin on the CPU that thread may need (Capabilities::handover_thread).
    CountingPoll links(/*links_in_memory=*/true);
    links.yields = true;
    Scheduler scheduler(1, std::chrono::microseconds(20ms), &links);
    REQUIRE(eventually([] {
        const auto states = worker_states();
        return states.size() == 1 && states[0] == 'S';
    }));
    CHECK(links.polls.load() > 0);
    // Asked after each poll that found nothing, by the polling worker only.
    CHECK(links.yield_asks.load() >= links.polls.load() - links.ons.load());
    CHECK(links.yield_asks_unannounced.load() == 0);
    CHECK(links.ons.load() == links.offs.load());
    scheduler.stop();
}

namespace {
/// Links a worker waits for itself (IdlePoll::wait): a "frame" is a count on `frames`,
/// and it makes `delivered` ready, as a letter would make its actor's cell ready.
struct WaitedLinks final : IdlePoll {
    bool polling(bool) noexcept override { return false; }
    bool poll(bool) override { return false; }
    bool waits() const noexcept override { return true; }
    bool wait() override {
        ++wait_calls;
        waiter = std::this_thread::get_id();
        std::array<pollfd, 2> fds{pollfd{frames.get(), POLLIN, 0},
                                  pollfd{interrupts.get(), POLLIN, 0}};
        (void)::poll(fds.data(), fds.size(), -1);
        std::uint64_t count = 0;
        if (fds[1].revents != 0) (void)::read(interrupts.get(), &count, sizeof count);
        if (fds[0].revents == 0) return false;
        (void)::read(frames.get(), &count, sizeof count);
        scheduler->schedule(delivered);
        return true;
    }
    void interrupt() noexcept override {
        ++interrupt_calls;
        const std::uint64_t one = 1;
        (void)::write(interrupts.get(), &one, sizeof one);
    }
    void frame() {
        const std::uint64_t one = 1;
        REQUIRE(::write(frames.get(), &one, sizeof one) == sizeof one);
    }
    courier::Fd frames{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
    courier::Fd interrupts{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
    Scheduler* scheduler = nullptr;
    std::shared_ptr<courier::detail::Runnable> delivered;
    std::atomic<int> wait_calls{0}, interrupt_calls{0};
    std::atomic<std::thread::id> waiter;
};

/// A cell that records the thread it ran on.
struct Probe final : courier::detail::Runnable {
    bool run() override {
        ran_on = std::this_thread::get_id();
        ++runs;
        return false;
    }
    std::atomic<std::thread::id> ran_on;
    std::atomic<int> runs{0};
};
}  // namespace

TEST_CASE("a worker that shares its CPU waits for the links itself, and runs what they bring",
          "[framework][scheduler]") {
    WaitedLinks links;
    auto probe = std::make_shared<Probe>();
    links.delivered = probe;
    SECTION("a cell its wait makes ready runs on it, never handed to the other worker") {
        // Two workers (explicit threads): one waits for the links, the other sleeps until
        // a cell is queued. The claimed cell must not be queued, where either could take it.
        Scheduler scheduler(2, std::chrono::microseconds(20ms), &links, /*yielding=*/true);
        links.scheduler = &scheduler;
        for (int round = 1; round <= 20; ++round) {
            REQUIRE(eventually([&] {
                const auto states = worker_states();
                return links.wait_calls > 0 && states.size() == 2 && states[0] == 'S' &&
                       states[1] == 'S';
            }));
            links.frame();
            REQUIRE(eventually([&] { return probe->runs == round; }));
            CHECK(probe->ran_on.load() == links.waiter.load());
        }
        CHECK(links.interrupt_calls == 0);  // nothing was queued for the waiting worker
        scheduler.stop();
    }
    SECTION("a cell queued by another thread ends the wait, and stop() ends it too") {
        Scheduler scheduler(1, std::chrono::microseconds(20ms), &links, /*yielding=*/true);
        links.scheduler = &scheduler;
        REQUIRE(eventually(
            [&] { return links.wait_calls > 0 && worker_states() == std::vector{'S'}; }));
        scheduler.schedule(probe);
        REQUIRE(eventually([&] { return probe->runs == 1; }));
        CHECK(links.interrupt_calls >= 1);
        REQUIRE(eventually([&] { return worker_states() == std::vector{'S'}; }));
        scheduler.stop();  // returns: the waiting worker was interrupted
        CHECK(worker_states().empty());
    }
    SECTION("a worker with CPUs to spare never waits for the links") {
        Scheduler scheduler(1, std::chrono::microseconds(1ms), &links, /*yielding=*/false);
        links.scheduler = &scheduler;
        REQUIRE(eventually([&] { return worker_states() == std::vector{'S'}; }));
        scheduler.schedule(probe);
        REQUIRE(eventually([&] { return probe->runs == 1; }));
        CHECK(links.wait_calls == 0);
        scheduler.stop();
    }
}
