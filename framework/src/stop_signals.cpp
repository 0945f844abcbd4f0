#include "stop_signals.hpp"

#include "node_core.hpp"

#include <courier/fd.hpp>
#include <courier/log.hpp>
#include <courier/posix_call.hpp>

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace courier::detail {

namespace {

constexpr std::array<int, 2> stop_signals{SIGTERM, SIGINT};

// What the handler reads: lock-free atomics only (async-signal-safe).
std::atomic<int> pipe_in{-1};      ///< the pipe's write end; -1 while none
std::atomic<pid_t> pipe_owner{0};  ///< the process whose thread reads the pipe
std::atomic<int> in_handler{0};    ///< handlers between their first and last look at pipe_in
/// When the first signal came (CLOCK_MONOTONIC, ns); 0: none yet.
std::atomic<std::int64_t> first_signal{0};
std::atomic<int> waiting{0};  ///< threads in Node::wait()
static_assert(std::atomic<int>::is_always_lock_free &&
              std::atomic<std::int64_t>::is_always_lock_free &&
              std::atomic<pid_t>::is_always_lock_free);

/// A signal this soon after the first is the same request sent twice, not a second one:
/// timeout(1), for one, sends SIGTERM to the process and then to its process group.
constexpr std::int64_t repeat_window_ns = 200'000'000;

std::int64_t monotonic_ns() noexcept {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
    return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

template <std::size_t N>
void say(const char (&text)[N]) {
    (void)!::write(STDERR_FILENO, text, N - 1);
}

extern "C" void on_stop_signal(int signo) {
    const int saved_errno = errno;
    in_handler.fetch_add(1);
    if (::getpid() != pipe_owner.load()) {
        // A forked child that has no node of its own: what the default action would do
        // (the signal is blocked in its handler, so it takes effect once we return).
        in_handler.fetch_sub(1);
        ::signal(signo, SIG_DFL);
        ::raise(signo);
        errno = saved_errno;
        return;
    }
    const std::int64_t now = monotonic_ns();
    std::int64_t first = 0;
    if (!first_signal.compare_exchange_strong(first, now)) {
        if (now - first < repeat_window_ns) {  // the first one, again
            in_handler.fetch_sub(1);
            errno = saved_errno;
            return;
        }
        if (signo == SIGINT)
            say("courier: a second SIGINT while stopping: exiting at once\n");
        else
            say("courier: a second SIGTERM while stopping: exiting at once\n");
        ::_exit(128 + signo);
    }
    if (const int fd = pipe_in.load(); fd >= 0) {
        const auto byte = static_cast<unsigned char>(signo);
        (void)!::write(fd, &byte, 1);
    }
    in_handler.fetch_sub(1);
    errno = saved_errno;
}

/// The signals' state outside the handler, under `mutex`.
struct Hub {
    std::mutex mutex;
    std::condition_variable idle;
    std::vector<NodeCore*> nodes;
    bool busy = false;  ///< the thread is stopping nodes
    pid_t pid = 0;      ///< the process the pipe and the thread belong to; 0: none
    Fd read_end, write_end;
    std::unique_ptr<std::thread> thread;
    /// By stop_signals' index: our handler is installed, over `previous`.
    std::array<bool, stop_signals.size()> installed{};
    std::array<struct sigaction, stop_signals.size()> previous{};
};

/// Never destroyed: a node may outlive static destruction (a static Node, an exit()
/// while nodes run), and a forked child leaves the parent's thread object alone.
Hub& hub() {
    static Hub* const instance = new Hub;
    return *instance;
}

const char* signal_name(int signo) {
    return signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "a signal";
}

void stop_nodes(int signo) {
    Hub& h = hub();
    std::vector<NodeCore*> nodes;
    {
        std::lock_guard lock(h.mutex);
        if (h.nodes.empty()) return;
        h.busy = true;
        nodes = h.nodes;
    }
    // Every node starts draining before any is waited for: one deadline for all.
    for (NodeCore* node : nodes) {
        log().info("node '{}': {} received; stopping (queued letters get up to {} ms)",
                   node->name(), signal_name(signo), node->options().drain_timeout.count());
        node->begin_stop();
    }
    for (NodeCore* node : nodes) node->finish_stop();
    // Before waking them: a thread that returns from wait() finishes the process itself.
    const bool someone_waits = waiting.load() > 0;
    for (NodeCore* node : nodes) node->shutdown();
    {
        std::lock_guard lock(h.mutex);
        h.busy = false;
    }
    h.idle.notify_all();
    if (someone_waits) return;
    log().debug("courier: stopped by {}, and no thread waits in Node::wait(): exiting with 0",
                signal_name(signo));
    log().flush();
    std::fflush(nullptr);
    ::_exit(0);
}

void run(int read_end) {
    pthread_setname_np(pthread_self(), "courier-signals");  // for top -H, perf, gdb
    for (;;) {
        unsigned char signo = 0;
        auto n = COURIER_SYSCALL(::read, read_end, &signo, std::size_t{1});
        if (!n.ok() || n.value == 0) return;  // the write end closed: the last node left
        stop_nodes(signo);
    }
}

/// In a forked child, the parent's pipe, thread and nodes are not ours: forget them (the
/// descriptors may have been closed and reused by now, so they are not closed here). The
/// dispositions are inherited, so what is installed stays as it is.
void forget_parent(Hub& h) {
    if (h.pid == 0 || h.pid == ::getpid()) return;
    (void)h.read_end.release();
    (void)h.write_end.release();
    (void)h.thread.release();
    h.nodes.clear();
    h.busy = false;
    h.pid = 0;
    pipe_in.store(-1);
    first_signal.store(0);
}

void start(Hub& h) {
    int ends[2];
    COURIER_SYSCALL(::pipe2, ends, O_CLOEXEC).value_or_throw("signal pipe");
    h.read_end = Fd(ends[0]);
    h.write_end = Fd(ends[1]);
    // The handler must never block: with the pipe full, the signals it holds are enough.
    COURIER_SYSCALL(::fcntl, ends[1], F_SETFL, O_NONBLOCK).value_or_throw("signal pipe");
    h.thread = std::make_unique<std::thread>(run, ends[0]);
    h.pid = ::getpid();
    pipe_owner.store(h.pid);
    pipe_in.store(ends[1]);
    for (std::size_t i = 0; i < stop_signals.size(); ++i) {
        if (h.installed[i]) continue;  // inherited from the parent of a fork
        struct sigaction current {};
        if (::sigaction(stop_signals[i], nullptr, &current) != 0) continue;
        if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_IGN) continue;
        struct sigaction ours {};
        ours.sa_handler = on_stop_signal;
        ::sigemptyset(&ours.sa_mask);
        ours.sa_flags = SA_RESTART;  // the application's blocking calls go on, as before
        if (::sigaction(stop_signals[i], &ours, &h.previous[i]) == 0) h.installed[i] = true;
    }
}

/// What is left to close and join outside the lock.
struct Stopped {
    std::unique_ptr<std::thread> thread;
    Fd read_end, write_end;
};

Stopped stop(Hub& h) {
    for (std::size_t i = 0; i < stop_signals.size(); ++i) {
        if (h.installed[i]) (void)::sigaction(stop_signals[i], &h.previous[i], nullptr);
        h.installed[i] = false;
    }
    // From here no handler starts; one that started may still be about to write.
    pipe_in.store(-1);
    while (in_handler.load() != 0) std::this_thread::yield();
    first_signal.store(0);
    h.pid = 0;
    return Stopped{std::move(h.thread), std::move(h.read_end), std::move(h.write_end)};
}

}  // namespace

void StopSignals::enlist(NodeCore& node) {
    Hub& h = hub();
    std::lock_guard lock(h.mutex);
    forget_parent(h);
    if (h.nodes.empty()) start(h);
    h.nodes.push_back(&node);
}

void StopSignals::leave(NodeCore& node) noexcept {
    Hub& h = hub();
    Stopped stopped;
    {
        std::unique_lock lock(h.mutex);
        forget_parent(h);
        h.idle.wait(lock, [&] { return !h.busy; });
        if (std::erase(h.nodes, &node) == 0 || !h.nodes.empty()) return;
        stopped = stop(h);
    }
    stopped.write_end.reset();  // the thread reads the end of the pipe and returns
    if (stopped.thread) stopped.thread->join();
}

StopSignals::Waiting::Waiting() noexcept {
    waiting.fetch_add(1);
}

StopSignals::Waiting::~Waiting() {
    waiting.fetch_sub(1);
}

}  // namespace courier::detail
