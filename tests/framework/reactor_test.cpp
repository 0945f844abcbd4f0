// The reactor: poll_now() (what an idle worker uses to receive on its own thread),
// wait_shared() (what an idle worker of a node with one CPU waits in), and timers that can
// be cancelled.

#include "reactor.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <initializer_list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
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

/// The scheduling state of a thread of this process ('S': asleep).
char state_of(pid_t tid) {
    std::string stat;
    std::getline(std::ifstream("/proc/self/task/" + std::to_string(tid) + "/stat"), stat);
    const auto paren = stat.rfind(')');  // "tid (comm) S ...": comm may hold spaces
    return paren != std::string::npos && paren + 2 < stat.size() ? stat[paren + 2] : '?';
}

/// Waits until every thread of `tids` is asleep; false after 10 s.
bool all_asleep(std::initializer_list<pid_t> tids) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
        bool asleep = true;
        for (auto tid : tids) asleep = asleep && state_of(tid) == 'S';
        if (asleep) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(100us);
    }
}

/// The reactor thread's id, from a timer it runs.
pid_t reactor_tid(Reactor& reactor) {
    std::promise<pid_t> tid;
    reactor.after(0ms, [&] { tid.set_value(::gettid()); });
    return tid.get_future().get();
}

/// A thread that waits in reactor.wait_shared() until told to end (interrupt_wait()).
struct Waiter {
    explicit Waiter(Reactor& r) : reactor(r) {
        thread = std::thread([this] {
            tid.set_value(::gettid());
            while (!done) {
                if (reactor.wait_shared()) ++ran;
                ++waits;
            }
        });
        id = tid.get_future().get();
    }
    ~Waiter() {
        done = true;
        reactor.interrupt_wait();
        thread.join();
    }
    Reactor& reactor;
    std::promise<pid_t> tid;
    pid_t id = 0;
    std::atomic<bool> done{false};
    std::atomic<int> ran{0}, waits{0};
    std::thread thread;
};

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

TEST_CASE(
    "a descriptor made readable while a thread waits in wait_shared wakes that thread, "
    "not the reactor's",
    "[framework][reactor]") {
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) == 0);
    const Fd reader(pair[0]), writer(pair[1]);
    Reactor reactor(Reactor::Timers::on_thread, /*worker_waits=*/true);
    REQUIRE(reactor.worker_waits());
    std::atomic<int> read_by_waiter{0}, read_by_reactor{0};
    const pid_t reactor_thread = reactor_tid(reactor);
    reactor.add(
        reader.get(),
        [&] {
            char byte;
            if (::recv(reader.get(), &byte, 1, 0) != 1) return;  // the other thread had it
            ++(::gettid() == reactor_thread ? read_by_reactor : read_by_waiter);
        },
        /*shared=*/true);

    SECTION("with both threads asleep, every wake-up goes to the waiting thread") {
        Waiter waiter(reactor);
        // Each time both sleep in epoll_wait: were both woken (no EPOLLEXCLUSIVE), either
        // could read first, and over 50 rounds the reactor would win some.
        for (int round = 1; round <= 50; ++round) {
            REQUIRE(all_asleep({reactor_thread, waiter.id}));
            REQUIRE(::send(writer.get(), "x", 1, 0) == 1);
            const auto deadline = std::chrono::steady_clock::now() + 10s;
            while (read_by_waiter + read_by_reactor < round &&
                   std::chrono::steady_clock::now() < deadline) {
                std::this_thread::sleep_for(100us);
            }
            REQUIRE(read_by_waiter + read_by_reactor == round);
        }
        CHECK(read_by_waiter == 50);
        CHECK(read_by_reactor == 0);
    }
    SECTION("with nobody waiting, the reactor thread reads what arrives") {
        REQUIRE(all_asleep({reactor_thread}));
        REQUIRE(::send(writer.get(), "x", 1, 0) == 1);
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (read_by_reactor == 0 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(100us);
        CHECK(read_by_reactor == 1);
    }
    reactor.stop();
}

TEST_CASE("an epoll set as a shared descriptor is waited for by the reactor thread alone",
          "[framework][reactor]") {
    // A link of several descriptors gives an epoll set, which the kernel cannot wake
    // exclusively: the waiting thread is never told of it, the reactor thread always is.
    const Fd inner(::epoll_create1(EPOLL_CLOEXEC));
    const Fd event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    REQUIRE(inner);
    REQUIRE(event);
    epoll_event ev{};
    ev.events = EPOLLIN;
    REQUIRE(::epoll_ctl(inner.get(), EPOLL_CTL_ADD, event.get(), &ev) == 0);
    Reactor reactor(Reactor::Timers::on_thread, /*worker_waits=*/true);
    const pid_t reactor_thread = reactor_tid(reactor);
    std::promise<pid_t> ran_on;
    bool once = false;
    reactor.add(
        inner.get(),
        [&] {
            drain(event.get());
            if (!std::exchange(once, true)) ran_on.set_value(::gettid());
        },
        /*shared=*/true);
    Waiter waiter(reactor);
    REQUIRE(all_asleep({reactor_thread, waiter.id}));
    signal(event.get());
    auto ran = ran_on.get_future();
    REQUIRE(ran.wait_for(10s) == std::future_status::ready);
    CHECK(ran.get() == reactor_thread);
    CHECK(waiter.ran == 0);
}

TEST_CASE("interrupt_wait ends a wait_shared, or the next one to begin", "[framework][reactor]") {
    Reactor reactor(Reactor::Timers::on_thread, /*worker_waits=*/true);
    SECTION("before it begins") {
        reactor.interrupt_wait();
        CHECK_FALSE(reactor.wait_shared());  // returns at once: nothing ran
    }
    SECTION("while it waits") {
        auto waited = std::async(std::launch::async, [&] { return reactor.wait_shared(); });
        CHECK(waited.wait_for(20ms) == std::future_status::timeout);
        reactor.interrupt_wait();
        REQUIRE(waited.wait_for(10s) == std::future_status::ready);
        CHECK_FALSE(waited.get());
    }
    CHECK_FALSE(Reactor().worker_waits());
    CHECK_THROWS_AS(Reactor().wait_shared(), std::logic_error);
}
