#pragma once
/// @file
/// Writing to a pipe without being killed by SIGPIPE: a pipe has no MSG_NOSIGNAL. Private
/// to courier_transports (the stream framing's pipe writes).

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <ctime>

namespace courier::detail {

/// True when this process ignores SIGPIPE (a node makes it so if it was left at the
/// default): a write to a pipe whose reader is gone then only fails with EPIPE, and needs
/// no SigpipeBlocked, which costs three system calls a write. Asked at each write: the
/// application may change it.
inline bool sigpipe_ignored() noexcept {
    struct sigaction current {};
    return ::sigaction(SIGPIPE, nullptr, &current) == 0 && (current.sa_flags & SA_SIGINFO) == 0 &&
           current.sa_handler == SIG_IGN;
}

/// Blocks SIGPIPE in this thread for its scope. A write to a pipe
/// whose reader is gone raises SIGPIPE, which kills by default. Blocked, the signal stays
/// pending; consume() takes it (unless one was pending before we came) before the mask is
/// restored, so it neither kills the process nor reaches anyone's handler.
class SigpipeBlocked {
  public:
    SigpipeBlocked() noexcept {
        ::sigemptyset(&pipe_);
        ::sigaddset(&pipe_, SIGPIPE);
        ::pthread_sigmask(SIG_BLOCK, &pipe_, &saved_);
        sigset_t pending;
        ::sigemptyset(&pending);
        ::sigpending(&pending);
        was_pending_ = ::sigismember(&pending, SIGPIPE) == 1;
    }
    ~SigpipeBlocked() { ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
    SigpipeBlocked(const SigpipeBlocked&) = delete;
    SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

    /// Takes the SIGPIPE an EPIPE just raised.
    void consume() noexcept {
        if (was_pending_) return;
        const timespec zero{};
        while (::sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {
        }
    }

  private:
    sigset_t pipe_{};
    sigset_t saved_{};
    bool was_pending_ = false;
};

}  // namespace courier::detail
