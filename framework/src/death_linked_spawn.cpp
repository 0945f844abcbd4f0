#include "death_linked_spawn.hpp"

#include <courier/fd.hpp>
#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>

namespace courier::detail {

namespace {

/// What became of one fork: the child's pid, or the errno of what failed.
struct Outcome {
    pid_t pid = -1;
    int error = 0;
    const char* call = "";
};

/// Runs in the forked child: only async-signal-safe calls until exec. Never returns.
[[noreturn]] void become(const ExecPlan& plan, pid_t parent, int report) {
    // The spawning thread blocks every signal, so none runs a handler of the parent's in
    // here; the handlers go before the mask does. SIGPIPE, which courier ignores, gets its
    // default action back, as posix_spawn's children do.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int signal = 1; signal < NSIG; ++signal) {
        struct sigaction old {};
        if (::sigaction(signal, nullptr, &old) != 0) continue;
        const bool caught = old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN;
        if (caught || (signal == SIGPIPE && old.sa_handler == SIG_IGN))
            ::sigaction(signal, &default_action, nullptr);
    }
    for (std::size_t i = 0; i < plan.sources.size(); ++i) {
        // Every source is above the targets, so none is overwritten before it is copied;
        // dup2 clears close-on-exec on the copy.
        if (::dup2(plan.sources[i], plan.first_target + static_cast<int>(i)) < 0) {
            const int error = errno;
            [[maybe_unused]] auto written = ::write(report, &error, sizeof error);
            ::_exit(127);
        }
    }
    // Whatever else is open (ours, the application's) does not reach the program.
    ::syscall(SYS_close_range, static_cast<unsigned>(plan.keep_below), ~0U,
              static_cast<unsigned>(CLOSE_RANGE_CLOEXEC));
    ::prctl(PR_SET_PDEATHSIG, plan.death_signal);
    // The parent may have died before the prctl: then nobody would send the signal.
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execvpe(plan.program, plan.argv, plan.envp);
    const int error = errno;
    [[maybe_unused]] auto written = ::write(report, &error, sizeof error);
    ::_exit(127);
}

Outcome fork_and_exec(const ExecPlan& plan) {
    int ends[2] = {-1, -1};
    if (::pipe2(ends, O_CLOEXEC) != 0) return {-1, errno, "pipe2"};
    Fd reader(ends[0]);
    Fd writer(ends[1]);
    if (writer.get() < plan.keep_below) {
        // Out of the way of the descriptors the child places at 3, 4, ...
        const auto moved = COURIER_SYSCALL(::fcntl, writer.get(), F_DUPFD_CLOEXEC, plan.keep_below);
        if (!moved.ok()) return {-1, moved.error, "fcntl"};
        writer.reset(static_cast<int>(moved.value));
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) return {-1, errno, "fork"};
    if (pid == 0) become(plan, parent, writer.get());
    writer.reset();
    // The pipe closes at exec (success) or carries the errno of what failed.
    int error = 0;
    const auto got = COURIER_SYSCALL(::read, reader.get(), &error, sizeof error);
    if (got.ok() && got.value == 0) return {pid, 0, ""};
    COURIER_SYSCALL(::waitpid, pid, nullptr, 0);
    return {-1, got.ok() ? error : got.error, "execvpe"};
}

/// The one thread that forks children dying with this process, for as long as it runs.
class SpawningThread {
  public:
    /// This process's thread. A process forked from one that had it has none of its
    /// threads: it makes its own (the old object is left alone, its lock may be held).
    static SpawningThread& instance() {
        static std::mutex guard;
        static SpawningThread* current = nullptr;
        std::lock_guard lock(guard);
        if (current == nullptr || current->owner_ != ::getpid())
            current = new SpawningThread();  // never destroyed: the thread outlives main()
        return *current;
    }

    Outcome run(const ExecPlan& plan) {
        Job job{&plan, {}, false};
        std::unique_lock lock(mutex_);
        jobs_.push_back(&job);
        changed_.notify_all();
        changed_.wait(lock, [&] { return job.done; });
        return job.outcome;
    }

  private:
    struct Job {
        const ExecPlan* plan;
        Outcome outcome;
        bool done;
    };

    SpawningThread() {
        std::thread([this] { loop(); }).detach();
    }

    void loop() {
        sigset_t all;
        ::sigfillset(&all);
        ::pthread_sigmask(SIG_SETMASK, &all, nullptr);
        std::unique_lock lock(mutex_);
        for (;;) {
            changed_.wait(lock, [&] { return !jobs_.empty(); });
            Job* job = jobs_.front();
            jobs_.pop_front();
            lock.unlock();
            Outcome outcome = fork_and_exec(*job->plan);
            lock.lock();
            job->outcome = outcome;
            job->done = true;
            changed_.notify_all();
        }
    }

    const pid_t owner_ = ::getpid();
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Job*> jobs_;
};

}  // namespace

pid_t spawn_dying_with_parent(const ExecPlan& plan) {
    const Outcome outcome = SpawningThread::instance().run(plan);
    if (outcome.pid < 0) {
        throw std::system_error(outcome.error, std::generic_category(),
                                std::string("cannot start ") + plan.program + ": " + outcome.call);
    }
    return outcome.pid;
}

}  // namespace courier::detail
