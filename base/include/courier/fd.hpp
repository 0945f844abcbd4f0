#pragma once
/// @file
/// A move-only owner of a file descriptor; closes it on destruction.
///
/// The one descriptor type of courier: transports hold their sockets, pipes and queues in
/// it, frames carry received descriptors in it, and a message may hold one as a field
/// (it travels by SCM_RIGHTS on transports with fd passing; docs/protocol.md). Whoever
/// holds the Fd owns the descriptor: a message that is dropped on the way closes it.

#include <utility>

namespace courier {

class Fd {
  public:
    Fd() noexcept = default;
    /// Takes ownership of `fd` (which may be -1 for "none").
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) reset(std::exchange(other.fd_, -1));
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    /// Gives up ownership without closing.
    int release() noexcept { return std::exchange(fd_, -1); }
    /// Closes the current descriptor (if any) and owns `fd` instead. close() is never
    /// retried: Linux releases the descriptor even when close reports EINTR.
    void reset(int fd = -1) noexcept;

  private:
    int fd_ = -1;
};

}  // namespace courier
