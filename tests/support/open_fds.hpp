#pragma once
/// @file
/// Descriptor accounting for tests that must prove nothing leaks.

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <filesystem>
#include <stdexcept>

namespace courier_test {

/// How many descriptors this process has open (entries of /proc/self/fd).
inline std::size_t open_fd_count() {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
        ++count;
    return count - 1;  // the directory iterator's own descriptor
}

inline bool is_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

/// A pipe, read end first, close-on-exec.
inline std::array<int, 2> make_pipe() {
    std::array<int, 2> ends{};
    if (::pipe2(ends.data(), O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    return ends;
}

}  // namespace courier_test
