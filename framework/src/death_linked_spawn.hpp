#pragma once
/// @file
/// Starting a program that dies with this process: fork, then in the child
/// prctl(PR_SET_PDEATHSIG) and exec (posix_spawn cannot run prctl in between).
///
/// The kernel sends the parent-death signal when the *thread* that forked the child ends,
/// not when the process does: a child forked by a worker of a node that is later
/// destroyed, or by a short-lived application thread, would be killed early. So every
/// such fork runs on one thread that lives as long as the process (started on first use,
/// never joined). A parent that died between the fork and the prctl is caught by
/// comparing getppid() with the pid the parent had before forking.

#include <sys/types.h>

#include <vector>

namespace courier::detail {

/// What the forked child does before exec: the descriptors it keeps, in order.
struct ExecPlan {
    const char* program = nullptr;  ///< a path, or a name looked up in PATH
    char* const* argv = nullptr;
    char* const* envp = nullptr;
    /// dup2(sources[i], first_target + i); every source is >= keep_below.
    std::vector<int> sources;
    int first_target = 3;
    /// Descriptors from here on are closed in the child (close-on-exec).
    int keep_below = 3;
    /// The signal the child gets when this process ends (SIGKILL, SIGTERM...).
    int death_signal = 0;
};

/// Forks and execs `plan` on the process's spawning thread; returns the child's pid.
/// Throws std::system_error with the errno of a fork or exec that failed (the failed
/// child is reaped).
pid_t spawn_dying_with_parent(const ExecPlan& plan);

}  // namespace courier::detail
