#pragma once
/// @file
/// The node's I/O thread: epoll over listener and link descriptors, plus timers.
/// Callbacks run on the reactor thread and must not block.

#include <courier/fd.hpp>

#include <atomic>
#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace courier::detail {

class Reactor {
  public:
    using Clock = std::chrono::steady_clock;

    /// Who runs the timers: the reactor's thread when they are due (a node), or the caller
    /// of advance() on a clock of its own (a test that steps a node by hand).
    enum class Timers { on_thread, by_hand };
    /// `worker_waits`: another thread (a node's idle worker, when the node has one CPU) may
    /// wait for the shared descriptors itself (wait_shared()).
    explicit Reactor(Timers timers = Timers::on_thread, bool worker_waits = false);
    ~Reactor();
    Reactor(const Reactor&) = delete;
    Reactor& operator=(const Reactor&) = delete;

    /// Calls `on_readable` whenever `fd` is readable (level-triggered) until removed.
    /// `shared`: poll_now() may call it too, on another thread, even while the reactor
    /// thread runs it (it must be safe for that).
    void add(int fd, std::function<void()> on_readable, bool shared = false);
    /// Runs on the calling thread, without blocking, the shared callbacks of the
    /// descriptors readable now; true if any ran. The reactor thread is not involved:
    /// it may see the same descriptors readable and run the same callbacks. With no
    /// shared descriptor it returns at once, without a system call.
    bool poll_now();
    /// Only with `worker_waits`, by one thread at a time: blocks until a shared descriptor
    /// is readable or interrupt_wait() is called, then runs, on the calling thread, the
    /// shared callbacks of the descriptors readable; true if any ran. While a thread waits
    /// here, the kernel tells it, not the reactor thread, of a shared descriptor made
    /// readable, so what arrives runs where it is waited for, with no hand-off; what
    /// arrives while nobody waits here goes to the reactor thread as before.
    bool wait_shared();
    /// Ends a wait_shared() now, or the next one to begin.
    void interrupt_wait() noexcept;
    /// Made with `worker_waits`.
    bool worker_waits() const noexcept { return static_cast<bool>(shared_epoll_); }
    /// Stops watching `fd`; safe from any thread, including its own callback.
    void remove(int fd);
    /// Names a timer set by after(), for cancel().
    struct TimerId {
        Clock::time_point due;
        std::uint64_t serial = 0;  ///< orders timers due at the same time
        auto operator<=>(const TimerId&) const = default;
    };
    /// Calls `fn` once on the reactor thread after `delay`; timers due at the same time
    /// run in the order they were set.
    TimerId after(std::chrono::milliseconds delay, std::function<void()> fn);
    /// Drops a timer that has not started to run; true if it was still pending. Safe from
    /// any thread. From the reactor thread (a callback, another timer) it is exact: a
    /// timer cancelled there never runs, even one due in the same round.
    bool cancel(const TimerId& timer);
    /// Timers::by_hand: moves the reactor's clock on by `delay` and runs, on the caller, the
    /// timers due by then, in order, including those that they set due by then; returns
    /// how many ran.
    std::size_t advance(std::chrono::milliseconds delay);
    /// The timers' clock: steady_clock's now, or the clock advance() moves (Timers::by_hand).
    Clock::time_point now();
    /// Ends the thread; pending timers are dropped.
    void stop();

  private:
    void run();
    void wake();
    int next_timeout_ms();
    /// Runs the timers due at `now`, one at a time outside the lock; false once stopping.
    bool run_due(Clock::time_point now, std::size_t& ran);

    Fd epoll_;
    Fd wakeup_;  // eventfd: new timers and stop
    /// With worker_waits: the shared descriptors again, for wait_shared(), and the eventfd
    /// that interrupts it. Each shared descriptor is in both sets with EPOLLEXCLUSIVE, in
    /// this one first: a wake-up goes to the first set that has a thread waiting.
    Fd shared_epoll_;
    Fd interrupt_;
    const Timers timers_by_;
    Clock::time_point manual_now_;  ///< Timers::by_hand: the clock; guarded by mutex_
    std::mutex mutex_;
    struct Handler {
        std::function<void()> on_readable;
        bool shared = false;
    };
    std::shared_ptr<Handler> handler_of(int fd);

    std::unordered_map<int, std::shared_ptr<Handler>> handlers_;
    /// How many of handlers_ are shared; changed under mutex_, read by poll_now without.
    std::atomic<std::size_t> shared_handlers_{0};
    std::map<TimerId, std::function<void()>> timers_;
    std::uint64_t next_timer_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace courier::detail
