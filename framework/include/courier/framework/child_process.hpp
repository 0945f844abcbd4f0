#pragma once
/// @file
/// A child process a node (or anyone) started: a move-only handle that waits for it,
/// signals it, and never leaves a zombie. Node::spawn_process starts one linked to its
/// node; ChildProcess::start starts a plain one.

#include <courier/fd.hpp>

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace courier {

/// How a child process ended.
struct ExitStatus {
    int code = -1;   ///< its exit code when it exited; -1 when a signal ended it
    int signal = 0;  ///< the signal that ended it, else 0

    bool success() const noexcept { return signal == 0 && code == 0; }
    /// "exited with code 3", "killed by signal 9 (Killed)".
    std::string describe() const;
};

/// What to start, and how.
struct ProcessOptions {
    /// The program and its arguments. argv[0] is a path, or a name looked up in PATH.
    std::vector<std::string> argv;
    /// "NAME=value" entries set in the child's environment (replacing ours of that name);
    /// the rest of our environment is inherited.
    std::vector<std::string> environment;
    /// Node::spawn_process: the node name the child will take, which `[[links.rule]]`
    /// patterns are matched against; empty: the file name of argv[0].
    std::string node;
    /// Descriptors of ours the child inherits, placed at 3, 4, ... in this order (a link
    /// that Node::spawn_process makes for the child comes after them). Ours stay open.
    std::vector<int> inherit;
    /// The signal the child gets when this process ends, however it ends (SIGKILL,
    /// SIGTERM; PR_SET_PDEATHSIG); 0: none, the child outlives us. The Supervisor's
    /// children default to SIGKILL.
    int parent_death_signal = 0;
};

class ChildProcess {
  public:
    /// How long the destructor lets a running child end after SIGTERM before SIGKILL.
    static constexpr std::chrono::milliseconds stop_grace{2000};

    /// Starts `options.argv` with posix_spawn (or, with a parent_death_signal, fork and
    /// exec on a thread that lives as long as the process). The child inherits stdin, stdout,
    /// stderr and the descriptors of `options.inherit` then `inherit`, placed at 3, 4, ... in that
    /// order; every other
    /// descriptor is closed in it. Its signal mask is empty and SIGPIPE has its default
    /// action (courier ignores SIGPIPE in its own process; the child should not inherit
    /// that). Throws std::invalid_argument for an empty argv, std::system_error (with the
    /// errno, e.g. ENOENT or EACCES) when the program cannot be started.
    static ChildProcess start(const ProcessOptions& options, const std::vector<int>& inherit = {});

    /// No process.
    ChildProcess() noexcept = default;
    ChildProcess(ChildProcess&& other) noexcept;
    /// Ends the process this handle had first, as the destructor does.
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    /// A child that has not been waited for is reaped if it has exited; otherwise it is
    /// sent SIGTERM, given stop_grace to exit, then SIGKILL, and reaped. So no zombie is
    /// left and the destructor returns within about stop_grace. Call wait() first to let
    /// a child finish on its own.
    ~ChildProcess();

    /// Its process id; -1 for an empty handle.
    pid_t pid() const noexcept { return pid_; }
    explicit operator bool() const noexcept { return pid_ > 0; }

    /// Blocks until the child ends and reaps it; later calls return the same status.
    /// If SIGCHLD is ignored in this process the kernel reaps children itself and the
    /// status is unknown: {code -1, signal 0}.
    ExitStatus wait();
    /// wait(), or nullopt if the child still runs after `timeout`.
    std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);
    /// Sends `signal` to the child; false once it has been reaped (its pid may be reused)
    /// or when the signal cannot be sent.
    bool signal(int signal) noexcept;
    /// Lets the child run on unwatched: this handle forgets it, so nothing here ends or
    /// reaps it any more; once this process exits, whoever inherits the child (init, a
    /// subreaper) reaps it. For a child meant to outlive its parent, released as the
    /// parent exits (a zombie otherwise, if it ends first).
    void release() noexcept {
        pid_ = -1;
        pidfd_ = Fd();
    }
    /// A descriptor that becomes readable when the child exits (pidfd_open), to watch in
    /// an event loop; -1 when the kernel has none, or once the child was reaped.
    int exit_descriptor() const noexcept { return pidfd_.get(); }

  private:
    ChildProcess(pid_t pid, Fd pidfd) noexcept : pid_(pid), pidfd_(std::move(pidfd)) {}
    void finish() noexcept;

    pid_t pid_ = -1;
    Fd pidfd_;  ///< readable once the child exits; empty on kernels without pidfd_open
    std::optional<ExitStatus> status_;
};

}  // namespace courier
