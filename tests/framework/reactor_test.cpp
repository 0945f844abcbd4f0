// The reactor: poll_now() (what an idle worker uses to receive on its own thread) and
// timers that can be cancelled.

#include "reactor.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

using namespace courier;
using namespace courier::detail;
using namespace std::chrono_literals;

namespace {

void signal(int fd) {
    const std::uint64_t one = 1;
    REQUIRE(::write(fd, &one, sizeof one) == sizeof one);
}

void drain(int fd) {
    std::uint64_t count = 0;
    (void)::read(fd, &count, sizeof count);
}

}  // namespace

TEST_CASE("poll_now runs shared callbacks of readable descriptors on the caller, never others",
          "[framework][reactor]") {
    const Fd shared_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    const Fd private_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    REQUIRE(shared_fd);
    REQUIRE(private_fd);
    const auto caller = std::this_thread::get_id();

    // The reactor thread is held inside the shared callback, before it reads its
    // descriptor: both descriptors then stay readable while poll_now() looks.
    std::promise<void> reactor_entered;
    std::promise<void> release;
    auto released = release.get_future().share();
    std::atomic<int> shared_on_caller{0}, private_on_caller{0};
    bool entered = false;

    Reactor reactor;
    reactor.add(
        shared_fd.get(),
        [&] {
            if (std::this_thread::get_id() == caller) {
                ++shared_on_caller;
            } else if (!entered) {
                entered = true;
                reactor_entered.set_value();
                released.wait();
            }
            drain(shared_fd.get());
        },
        /*shared=*/true);
    reactor.add(private_fd.get(), [&] {
        if (std::this_thread::get_id() == caller) ++private_on_caller;
        drain(private_fd.get());
    });

    signal(private_fd.get());
    signal(shared_fd.get());
    REQUIRE(reactor_entered.get_future().wait_for(10s) == std::future_status::ready);
    CHECK(reactor.poll_now());
    CHECK(shared_on_caller == 1);
    CHECK(private_on_caller == 0);
    CHECK_FALSE(reactor.poll_now());  // the shared one is drained; the private one is not ours
    CHECK(private_on_caller == 0);
    release.set_value();
    reactor.stop();
}

TEST_CASE("poll_now keeps finding shared callbacks as descriptors come and go",
          "[framework][reactor]") {
    // poll_now() skips its system call while no shared descriptor is registered; the
    // count it trusts must follow add() and remove().
    const Fd first(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    const Fd second(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    const Fd third(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    REQUIRE(first);
    REQUIRE(second);
    REQUIRE(third);

    // The reactor thread is held in a timer meanwhile, so only poll_now() runs callbacks.
    std::promise<void> reactor_held;
    std::promise<void> release;
    auto released = release.get_future().share();
    Reactor reactor;
    reactor.after(0ms, [&] {
        reactor_held.set_value();
        released.wait();
    });
    REQUIRE(reactor_held.get_future().wait_for(10s) == std::future_status::ready);

    int runs = 0;
    reactor.add(
        first.get(),
        [&] {
            ++runs;
            drain(first.get());
        },
        /*shared=*/true);
    reactor.remove(first.get());
    reactor.add(second.get(), [&] {
        ++runs;
        drain(second.get());
    });
    signal(first.get());
    signal(second.get());
    CHECK_FALSE(reactor.poll_now());  // the shared one is gone, the other is not ours
    CHECK(runs == 0);

    reactor.add(
        third.get(),
        [&] {
            ++runs;
            drain(third.get());
        },
        /*shared=*/true);
    signal(third.get());
    CHECK(reactor.poll_now());
    CHECK(runs == 1);

    reactor.remove(third.get());
    reactor.add(
        first.get(),
        [&] {
            ++runs;
            drain(first.get());
        },
        /*shared=*/true);
    CHECK(reactor.poll_now());  // still readable from before
    CHECK(runs == 2);
    release.set_value();
    reactor.stop();
}

TEST_CASE("a cancelled timer never runs, and the others run in the order they fall due",
          "[framework][reactor]") {
    std::mutex mutex;
    std::vector<int> ran;
    std::promise<void> last_ran;
    auto record = [&](int which) {
        std::lock_guard lock(mutex);
        ran.push_back(which);
    };

    Reactor reactor;
    reactor.after(60ms, [&] {
        record(3);
        last_ran.set_value();
    });
    const auto early = reactor.after(10ms, [&] { record(1); });
    const auto cancelled = reactor.after(30ms, [&] { record(2); });
    CHECK(reactor.cancel(cancelled));
    CHECK_FALSE(reactor.cancel(cancelled));  // once only

    REQUIRE(last_ran.get_future().wait_for(10s) == std::future_status::ready);
    CHECK_FALSE(reactor.cancel(early));  // it ran already
    std::lock_guard lock(mutex);
    CHECK(ran == std::vector<int>{1, 3});
}

TEST_CASE("a timer cancelled by another timer due in the same round does not run",
          "[framework][reactor]") {
    // The reactor thread is held in a first timer while three more fall due: the second
    // cancels the third, the fourth tells the test that the round is over.
    std::promise<void> reactor_held;
    std::promise<void> release;
    auto released = release.get_future().share();
    Reactor reactor;
    reactor.after(0ms, [&] {
        reactor_held.set_value();
        released.wait();
    });
    REQUIRE(reactor_held.get_future().wait_for(10s) == std::future_status::ready);

    bool victim_ran = false;
    bool cancelled = false;
    std::promise<void> round_over;
    Reactor::TimerId victim;
    reactor.after(0ms, [&] { cancelled = reactor.cancel(victim); });
    victim = reactor.after(0ms, [&] { victim_ran = true; });
    reactor.after(0ms, [&] { round_over.set_value(); });
    // Set after the round of the holding timer began, they fall due together in the next.
    release.set_value();

    REQUIRE(round_over.get_future().wait_for(10s) == std::future_status::ready);
    CHECK(cancelled);
    CHECK_FALSE(victim_ran);
}

TEST_CASE("a timer set behind a cancelled earlier one still fires, and not early",
          "[framework][reactor]") {
    // A timer that is not the first does not wake the thread; the thread wakes for the
    // first one and must find the later one even when the first is gone by then.
    Reactor reactor;
    std::promise<Reactor::Clock::time_point> fired;
    const auto first = reactor.after(20ms, [] {});
    const auto set_at = Reactor::Clock::now();
    reactor.after(40ms, [&] { fired.set_value(Reactor::Clock::now()); });
    CHECK(reactor.cancel(first));
    auto when = fired.get_future();
    REQUIRE(when.wait_for(10s) == std::future_status::ready);
    CHECK(when.get() - set_at >= 40ms);
}
