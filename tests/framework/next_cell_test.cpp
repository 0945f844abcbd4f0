// The scheduler's next cell: a cell that a worker's turn makes ready runs on that worker
// when the turn ends, while another worker spins (so a request and its reply stay on one
// CPU); a spinning worker takes it over when the turn goes on; and with no worker
// spinning it goes to the ready queue, where a sleeping worker is woken for it.
//
// The cells here are plain Runnables: what a turn does is the test's.

#include "scheduler.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <thread>

using namespace std::chrono_literals;
using courier::detail::Runnable;
using courier::detail::Scheduler;

namespace {

using Clock = std::chrono::steady_clock;

/// A cell whose turn is `turn` (false: it has nothing more to run).
struct Cell final : Runnable {
    std::function<bool()> turn;
    bool run() override { return turn(); }
};

/// Long enough that the idle worker spins through the whole test.
constexpr auto spin_for_ever = std::chrono::microseconds(std::chrono::minutes(10));

/// Waits until `n` workers spin idle (they start doing so when the scheduler starts).
void wait_spinning(const Scheduler& scheduler, int n) {
    const auto give_up = Clock::now() + 60s;
    while (scheduler.spinning() < n && Clock::now() < give_up) std::this_thread::yield();
    REQUIRE(scheduler.spinning() >= n);
}

/// Waits for `done` up to a deadline that only a hang reaches.
bool finished(std::future<void>& done) {
    return done.wait_for(60s) == std::future_status::ready;
}

}  // namespace

TEST_CASE("a cell a turn makes ready runs next on that turn's worker while another spins",
          "[framework][scheduler][next_cell]") {
    Scheduler scheduler(2, spin_for_ever);
    constexpr int hops = 1000;
    auto ping = std::make_shared<Cell>();
    auto pong = std::make_shared<Cell>();
    std::atomic<int> hop{0};
    int same_thread = 0;  // written by one turn at a time: each schedules the next
    std::thread::id last;
    std::promise<void> all_done;
    auto turn = [&](std::shared_ptr<Cell>& other) {
        return [&] {
            const int n = hop.fetch_add(1) + 1;
            if (n > 1 && std::this_thread::get_id() == last) ++same_thread;
            last = std::this_thread::get_id();
            if (n == hops)
                all_done.set_value();
            else
                scheduler.schedule(other);  // the other cell was asleep: this wakes it
            return false;
        };
    };
    ping->turn = turn(pong);
    pong->turn = turn(ping);
    auto done = all_done.get_future();
    wait_spinning(scheduler, 2);
    scheduler.schedule(ping);
    REQUIRE(finished(done));
    scheduler.stop();
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // A sanitized turn can outlast the few microseconds after which the spinning worker
    // takes a next cell over: only that every hop ran is checked there.
    WARN("same thread " << same_thread << " of " << hops - 1 << " hops (not checked)");
#else
    // Without the next cell, the spinning worker takes most hops from the queue before
    // the turn that queued them ends. A worker preempted for longer than the take-over
    // delay loses a hop now and then.
    CHECK(same_thread >= (hops - 1) * 9 / 10);
#endif
}

/// What a handler that computes after sending does: a producer's turn wakes a consumer,
/// then goes on until the consumer has run (or a minute passes). With `spinner`, it wakes
/// it only once the other worker spins again.
struct Handoff {
    bool consumer_ran = false;
    std::thread::id producer, consumer;
};
Handoff send_then_compute(Scheduler& scheduler, bool spinner) {
    Handoff seen;
    std::atomic<bool> ran{false};
    auto consumer = std::make_shared<Cell>();
    consumer->turn = [&] {
        seen.consumer = std::this_thread::get_id();
        ran = true;
        return false;
    };
    std::promise<void> producer_done;
    auto producer = std::make_shared<Cell>();
    producer->turn = [&] {
        seen.producer = std::this_thread::get_id();
        const auto up = Clock::now() + 60s;  // the other worker, back from taking this one
        while (spinner && scheduler.spinning() < 1 && Clock::now() < up) {
        }
        scheduler.schedule(consumer);
        const auto give_up = Clock::now() + 60s;
        while (!ran && Clock::now() < give_up) {
        }
        producer_done.set_value();
        return false;
    };
    auto done = producer_done.get_future();
    scheduler.schedule(producer);
    REQUIRE(done.wait_for(120s) == std::future_status::ready);
    seen.consumer_ran = ran;
    scheduler.stop();
    return seen;
}

TEST_CASE("a next cell whose worker's turn goes on is taken over by the spinning worker",
          "[framework][scheduler][next_cell]") {
    Scheduler scheduler(2, spin_for_ever);
    const auto seen = send_then_compute(scheduler, /*spinner=*/true);
    CHECK(seen.consumer_ran);
    CHECK(seen.consumer != seen.producer);
}

TEST_CASE("with no worker spinning, a cell a turn makes ready wakes a sleeping worker",
          "[framework][scheduler][next_cell]") {
    Scheduler scheduler(2, /*spin=*/0us);  // idle workers sleep at once
    CHECK(send_then_compute(scheduler, /*spinner=*/false).consumer_ran);
}

TEST_CASE("a cell with letters left yields its worker to the next cell, behind the others",
          "[framework][scheduler][next_cell]") {
    // A producer with letters left after each turn wakes a consumer: the consumer runs
    // next on the producer's worker, and the producer queues, instead of the consumer
    // waiting to be taken over by the other worker.
    int on_producer_worker = 0;
    constexpr int rounds = 50;
    for (int round = 0; round < rounds; ++round) {
        Scheduler scheduler(2, spin_for_ever);
        std::atomic<bool> consumer_ran{false};
        std::thread::id producer_thread, consumer_thread;
        auto consumer = std::make_shared<Cell>();
        consumer->turn = [&] {
            consumer_thread = std::this_thread::get_id();
            consumer_ran = true;
            return false;
        };
        auto producer = std::make_shared<Cell>();
        std::atomic<int> turns{0};
        producer->turn = [&] {
            if (turns.fetch_add(1) == 0) {
                producer_thread = std::this_thread::get_id();
                const auto up = Clock::now() + 60s;  // the other worker, spinning again
                while (scheduler.spinning() < 1 && Clock::now() < up) {
                }
                scheduler.schedule(consumer);
            }
            return !consumer_ran.load();  // letters left until the consumer has run
        };
        scheduler.schedule(producer);
        const auto give_up = Clock::now() + 60s;
        while (!consumer_ran && Clock::now() < give_up) std::this_thread::sleep_for(100us);
        REQUIRE(consumer_ran);
        scheduler.stop();
        if (consumer_thread == producer_thread) ++on_producer_worker;
    }
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    WARN(on_producer_worker << " of " << rounds << " on the producer's worker (not checked)");
#else
    // Taken over instead, it would run on the other worker every time.
    CHECK(on_producer_worker >= rounds * 8 / 10);
#endif
}
