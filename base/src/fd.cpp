#include <courier/fd.hpp>

#include <unistd.h>

namespace courier {

void Fd::reset(int fd) noexcept {
    const int old = std::exchange(fd_, fd);
    if (old < 0 || old == fd) return;
    // Not retried on EINTR: Linux has already released the descriptor by then, and a
    // second close could hit a descriptor another thread has just been given.
    ::close(old);
}

}  // namespace courier
