#include "reactor.hpp"

#include <courier/posix_call.hpp>

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <stdexcept>
#include <vector>

namespace courier::detail {

namespace {

Fd new_epoll() {
    return Fd(static_cast<int>(COURIER_SYSCALL(::epoll_create1, EPOLL_CLOEXEC).value_or_throw()));
}

Fd new_eventfd() {
    return Fd(static_cast<int>(
        COURIER_SYSCALL(::eventfd, 0u, EFD_CLOEXEC | EFD_NONBLOCK).value_or_throw()));
}

void watch(const Fd& epoll, int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    COURIER_SYSCALL(::epoll_ctl, epoll.get(), EPOLL_CTL_ADD, fd, &ev)
        .value_or_throw("watch descriptor");
}

/// False if `fd` cannot be watched with `events` (EINVAL).
bool try_watch(const Fd& epoll, int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    auto added = COURIER_SYSCALL(::epoll_ctl, epoll.get(), EPOLL_CTL_ADD, fd, &ev);
    if (!added.ok() && added.error == EINVAL) return false;
    added.value_or_throw("watch descriptor");
    return true;
}

}  // namespace

Reactor::Reactor(Timers timers, bool worker_waits)
    : epoll_(new_epoll()), wakeup_(new_eventfd()), timers_by_(timers), manual_now_(Clock::now()) {
    watch(epoll_, wakeup_.get(), EPOLLIN);
    if (worker_waits) {
        shared_epoll_ = new_epoll();
        interrupt_ = new_eventfd();
        watch(shared_epoll_, interrupt_.get(), EPOLLIN);
    }
    thread_ = std::thread([this] { run(); });
}

Reactor::~Reactor() {
    stop();
}

void Reactor::add(int fd, std::function<void()> on_readable, bool shared) {
    {
        std::lock_guard lock(mutex_);
        auto& handler = handlers_[fd];
        if (handler && handler->shared) shared_handlers_.fetch_sub(1, std::memory_order_relaxed);
        handler = std::make_shared<Handler>(Handler{std::move(on_readable), shared});
        if (shared) shared_handlers_.fetch_add(1, std::memory_order_relaxed);
    }
    if (!shared || !shared_epoll_) {
        watch(epoll_, fd, EPOLLIN);
        return;
    }
    // The waiting worker's set first: an exclusive wake-up tries the descriptor's waiters
    // in the order they were added, and passes over a set nobody waits on.
    // An epoll set itself (a link of several descriptors) cannot be watched exclusively:
    // the reactor alone waits for it, as a wake-up would reach both threads.
    const bool exclusive = try_watch(shared_epoll_, fd, EPOLLIN | EPOLLEXCLUSIVE);
    watch(epoll_, fd, exclusive ? EPOLLIN | EPOLLEXCLUSIVE : EPOLLIN);
}

void Reactor::remove(int fd) {
    std::lock_guard lock(mutex_);
    auto it = handlers_.find(fd);
    if (it == handlers_.end()) return;
    if (it->second->shared) shared_handlers_.fetch_sub(1, std::memory_order_relaxed);
    handlers_.erase(it);
    // Failure only means the fd is already gone from the set.
    (void)COURIER_SYSCALL(::epoll_ctl, epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    if (shared_epoll_)
        (void)COURIER_SYSCALL(::epoll_ctl, shared_epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

Reactor::TimerId Reactor::after(std::chrono::milliseconds delay, std::function<void()> fn) {
    TimerId timer;
    bool first = false;
    {
        std::lock_guard lock(mutex_);
        timer = TimerId{(timers_by_ == Timers::by_hand ? manual_now_ : Clock::now()) + delay,
                        next_timer_++};
        first = timers_.empty() || timer < timers_.begin()->first;
        timers_.emplace(timer, std::move(fn));
    }
    // Only a new first timer shortens the thread's sleep; behind another, it is seen when
    // the thread wakes for that one (or, cancelled, for nothing) and looks again.
    if (first) wake();
    return timer;
}

bool Reactor::cancel(const TimerId& timer) {
    std::lock_guard lock(mutex_);
    return timers_.erase(timer) > 0;
}

void Reactor::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Reactor::wake() {
    std::uint64_t one = 1;
    (void)COURIER_SYSCALL(::write, wakeup_.get(), &one, sizeof one);
}

std::shared_ptr<Reactor::Handler> Reactor::handler_of(int fd) {
    std::lock_guard lock(mutex_);
    auto it = handlers_.find(fd);
    return it == handlers_.end() ? nullptr : it->second;
}

bool Reactor::poll_now() {
    // Nothing to run here: save the system call (a node whose links are all polled in
    // memory).
    if (shared_handlers_.load(std::memory_order_relaxed) == 0) return false;
    std::array<epoll_event, 16> events{};
    auto n = COURIER_SYSCALL(::epoll_wait, epoll_.get(), events.data(),
                             static_cast<int>(events.size()), 0);
    bool ran = false;
    for (long i = 0; i < (n.ok() ? n.value : 0); ++i) {
        const int fd = events[static_cast<std::size_t>(i)].data.fd;
        if (fd == wakeup_.get()) continue;  // timers and stop: the reactor thread's
        if (auto handler = handler_of(fd); handler && handler->shared) {
            handler->on_readable();
            ran = true;
        }
    }
    return ran;
}

bool Reactor::wait_shared() {
    if (!shared_epoll_) throw std::logic_error("Reactor::wait_shared: made without worker_waits");
    std::array<epoll_event, 16> events{};
    auto n = COURIER_SYSCALL(::epoll_wait, shared_epoll_.get(), events.data(),
                             static_cast<int>(events.size()), -1);
    bool ran = false;
    for (long i = 0; i < (n.ok() ? n.value : 0); ++i) {
        const int fd = events[static_cast<std::size_t>(i)].data.fd;
        if (fd == interrupt_.get()) {
            std::uint64_t count;
            (void)COURIER_SYSCALL(::read, interrupt_.get(), &count, sizeof count);
            continue;
        }
        if (auto handler = handler_of(fd); handler && handler->shared) {
            handler->on_readable();
            ran = true;
        }
    }
    return ran;
}

void Reactor::interrupt_wait() noexcept {
    std::uint64_t one = 1;
    (void)COURIER_SYSCALL(::write, interrupt_.get(), &one, sizeof one);
}

int Reactor::next_timeout_ms() {
    std::lock_guard lock(mutex_);
    if (timers_.empty() || timers_by_ == Timers::by_hand) return -1;
    auto wait =
        std::chrono::ceil<std::chrono::milliseconds>(timers_.begin()->first.due - Clock::now());
    return wait.count() < 0 ? 0 : static_cast<int>(wait.count());
}

void Reactor::run() {
    pthread_setname_np(pthread_self(), "courier-reactor");  // for top -H, perf, gdb
    std::vector<epoll_event> events(64);
    for (;;) {
        int timeout = next_timeout_ms();
        auto n = COURIER_SYSCALL(::epoll_wait, epoll_.get(), events.data(),
                                 static_cast<int>(events.size()), timeout);
        if (!n.ok()) n.value_or_throw();
        for (long i = 0; i < n.value; ++i) {
            int fd = events[static_cast<std::size_t>(i)].data.fd;
            if (fd == wakeup_.get()) {
                std::uint64_t count;
                (void)COURIER_SYSCALL(::read, wakeup_.get(), &count, sizeof count);
                continue;
            }
            if (auto handler = handler_of(fd)) handler->on_readable();
        }
        std::size_t ran = 0;
        if (timers_by_ == Timers::by_hand) {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
        } else if (!run_due(Clock::now(), ran)) {
            return;
        }
    }
}

bool Reactor::run_due(Clock::time_point now, std::size_t& ran) {
    // Due timers, one at a time outside the lock: each may set timers, cancel one (even
    // one due now) or remove descriptors. Only those due as the round began run in it, so
    // a timer that keeps setting itself again cannot hold the thread.
    for (;;) {
        std::function<void()> fn;
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return false;
            auto first = timers_.begin();
            if (first == timers_.end() || first->first.due > now) return true;
            fn = std::move(first->second);
            timers_.erase(first);
        }
        fn();
        ++ran;
    }
}

Reactor::Clock::time_point Reactor::now() {
    if (timers_by_ != Timers::by_hand) return Clock::now();
    std::lock_guard lock(mutex_);
    return manual_now_;
}

std::size_t Reactor::advance(std::chrono::milliseconds delay) {
    if (timers_by_ != Timers::by_hand)
        throw std::logic_error("Reactor::advance: the timers run on the reactor's thread");
    Clock::time_point now;
    {
        std::lock_guard lock(mutex_);
        now = manual_now_ += delay;
    }
    std::size_t ran = 0;
    run_due(now, ran);
    return ran;
}

}  // namespace courier::detail
