#include <courier/framework/child_process.hpp>

#include "death_linked_spawn.hpp"

#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

extern char** environ;

namespace courier {

namespace {

/// The first descriptor number the child's inherited descriptors take.
constexpr int first_inherited = 3;
/// Environment variables that describe this process's own parent link: never a child's.
constexpr std::string_view parent_prefix = "COURIER_PARENT";

std::string_view variable_name(std::string_view entry) {
    return entry.substr(0, entry.find('='));
}

/// Our environment, minus our parent link's variables and those `overrides` sets, plus
/// `overrides`.
std::vector<std::string> child_environment(const std::vector<std::string>& overrides) {
    std::vector<std::string> entries;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string_view name = variable_name(*entry);
        if (name.starts_with(parent_prefix)) continue;
        bool overridden = false;
        for (const auto& set : overrides) overridden |= variable_name(set) == name;
        if (!overridden) entries.emplace_back(*entry);
    }
    entries.insert(entries.end(), overrides.begin(), overrides.end());
    return entries;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

/// posix_spawn's attributes and file actions, destroyed on every path.
struct SpawnSetup {
    posix_spawnattr_t attributes{};
    posix_spawn_file_actions_t actions{};
    SpawnSetup() {
        ::posix_spawnattr_init(&attributes);
        ::posix_spawn_file_actions_init(&actions);
    }
    ~SpawnSetup() {
        ::posix_spawn_file_actions_destroy(&actions);
        ::posix_spawnattr_destroy(&attributes);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
};

void check(int error, const char* call, const std::string& program) {
    if (error != 0) {
        throw std::system_error(error, std::generic_category(),
                                "cannot start " + program + ": " + call);
    }
}

/// Starts the program with posix_spawn: the child inherits `sources` at 3, 4, ... and
/// nothing from `first_free` on; its signal mask is empty and SIGPIPE default.
pid_t spawn(const std::string& program, char* const* argv, char* const* envp,
            const std::vector<int>& sources, int first_free);

}  // namespace

std::string ExitStatus::describe() const {
    if (signal != 0) {
        const char* name = ::sigdescr_np(signal);  // strsignal is not thread-safe
        return "killed by signal " + std::to_string(signal) +
               (name != nullptr ? " (" + std::string(name) + ")" : std::string());
    }
    if (code < 0) return "ended with an unknown status";
    return "exited with code " + std::to_string(code);
}

ChildProcess ChildProcess::start(const ProcessOptions& options,
                                 const std::vector<int>& extra_inherit) {
    if (options.argv.empty() || options.argv.front().empty()) {
        throw std::invalid_argument("cannot start a process: argv is empty");
    }
    const std::string& program = options.argv.front();
    std::vector<std::string> args = options.argv;
    std::vector<std::string> environment = child_environment(options.environment);
    auto argv = pointers(args);
    auto envp = pointers(environment);
    std::vector<int> inherit = options.inherit;
    inherit.insert(inherit.end(), extra_inherit.begin(), extra_inherit.end());

    // The file actions run in order in the child: a source that sits where an earlier
    // descriptor is placed would be overwritten first, so those are moved out of the way.
    const int first_free = first_inherited + static_cast<int>(inherit.size());
    std::vector<Fd> moved;
    std::vector<int> sources;
    for (int fd : inherit) {
        if (fd < first_free) {
            moved.emplace_back(
                static_cast<int>(COURIER_SYSCALL(::fcntl, fd, F_DUPFD_CLOEXEC, first_free)
                                     .value_or_throw("cannot start " + program)));
            fd = moved.back().get();
        }
        sources.push_back(fd);
    }

    pid_t pid = -1;
    if (options.parent_death_signal != 0) {
        detail::ExecPlan plan;
        plan.program = program.c_str();
        plan.argv = argv.data();
        plan.envp = envp.data();
        plan.sources = sources;
        plan.first_target = first_inherited;
        plan.keep_below = first_free;
        plan.death_signal = options.parent_death_signal;
        pid = detail::spawn_dying_with_parent(plan);
    } else {
        pid = spawn(program, argv.data(), envp.data(), sources, first_free);
    }
    // The child is ours and not yet reaped, so its pid cannot have been reused.
    // glibc 2.36's <sys/pidfd.h> lacks extern "C", hence the raw syscalls. A pidfd is
    // close-on-exec by definition.
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0U)));
    return ChildProcess(pid, std::move(pidfd));
}

namespace {

pid_t spawn(const std::string& program, char* const* argv, char* const* envp,
            const std::vector<int>& sources, int first_free) {
    SpawnSetup setup;
    for (std::size_t i = 0; i < sources.size(); ++i) {
        // dup2 clears close-on-exec on the copy: these, and only these, survive the exec.
        check(::posix_spawn_file_actions_adddup2(&setup.actions, sources[i],
                                                 first_inherited + static_cast<int>(i)),
              "posix_spawn_file_actions_adddup2", program);
    }
    // Whatever else is open without close-on-exec (ours or the application's) stays here.
    check(::posix_spawn_file_actions_addclosefrom_np(&setup.actions, first_free),
          "posix_spawn_file_actions_addclosefrom_np", program);
    sigset_t none;
    ::sigemptyset(&none);
    sigset_t pipe;
    ::sigemptyset(&pipe);
    ::sigaddset(&pipe, SIGPIPE);
    check(::posix_spawnattr_setsigmask(&setup.attributes, &none), "posix_spawnattr_setsigmask",
          program);
    check(::posix_spawnattr_setsigdefault(&setup.attributes, &pipe),
          "posix_spawnattr_setsigdefault", program);
    check(::posix_spawnattr_setflags(&setup.attributes, static_cast<short>(POSIX_SPAWN_SETSIGMASK |
                                                                           POSIX_SPAWN_SETSIGDEF)),
          "posix_spawnattr_setflags", program);

    pid_t pid = -1;
    // glibc's posix_spawn reports a failed exec (ENOENT, EACCES...) as its result, and the
    // child it made for it has been reaped by then.
    check(::posix_spawnp(&pid, program.c_str(), &setup.actions, &setup.attributes, argv, envp),
          "posix_spawnp", program);
    return pid;
}

}  // namespace

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      status_(std::move(other.status_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        finish();
        pid_ = std::exchange(other.pid_, -1);
        pidfd_ = std::move(other.pidfd_);
        status_ = std::move(other.status_);
    }
    return *this;
}

ChildProcess::~ChildProcess() {
    finish();
}

void ChildProcess::finish() noexcept {
    if (pid_ <= 0 || status_) return;
    try {
        if (!wait_for(std::chrono::milliseconds(0))) {
            signal(SIGTERM);
            if (!wait_for(stop_grace)) {
                signal(SIGKILL);
                wait();
            }
        }
    } catch (...) {
        // Nothing to report from a destructor; SIGKILL and waitpid do not throw.
    }
}

ExitStatus ChildProcess::wait() {
    if (status_) return *status_;
    if (pid_ <= 0) throw std::logic_error("ChildProcess::wait on an empty handle");
    int raw = 0;
    const auto waited = COURIER_SYSCALL(::waitpid, pid_, &raw, 0);
    ExitStatus status;
    if (waited.ok()) {
        if (WIFEXITED(raw)) status.code = WEXITSTATUS(raw);
        if (WIFSIGNALED(raw)) status.signal = WTERMSIG(raw);
    } else if (waited.error != ECHILD) {
        waited.value_or_throw("wait for process " + std::to_string(pid_));
    }
    status_ = status;
    pidfd_.reset();
    return status;
}

std::optional<ExitStatus> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
    if (status_) return status_;
    if (pid_ <= 0) throw std::logic_error("ChildProcess::wait_for on an empty handle");
    if (pidfd_) {
        // A pidfd is readable once the process has exited: a wait with a deadline.
        pollfd entry{pidfd_.get(), POLLIN, 0};
        const auto ready =
            COURIER_SYSCALL(::poll, &entry, nfds_t{1}, static_cast<int>(timeout.count()));
        ready.value_or_throw("wait for process " + std::to_string(pid_));
        if (ready.value == 0) return std::nullopt;
        return wait();
    }
    // Kernels before 5.3: look every 10 ms until the deadline.
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        siginfo_t info{};
        const auto peeked = COURIER_SYSCALL(::waitid, P_PID, static_cast<id_t>(pid_), &info,
                                            WEXITED | WNOHANG | WNOWAIT);
        if (!peeked.ok() || info.si_pid != 0) return wait();
        if (std::chrono::steady_clock::now() >= until) return std::nullopt;
        ::poll(nullptr, 0, 10);
    }
}

bool ChildProcess::signal(int signal) noexcept {
    if (pid_ <= 0 || status_) return false;
    if (pidfd_) return ::syscall(SYS_pidfd_send_signal, pidfd_.get(), signal, nullptr, 0U) == 0;
    return ::kill(pid_, signal) == 0;
}

}  // namespace courier
