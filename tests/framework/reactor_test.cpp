// The reactor's poll_now(): what an idle worker uses to receive on its own thread.

#include "reactor.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

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
