#pragma once
/// @file
/// Descriptor helpers for tests that hand descriptors around and must prove nothing leaks.

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

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

/// Reads a pipe until every write end is closed (EOF): what it read, or nullopt if a
/// write end is still open after `within`. EOF is the proof that no copy of the write
/// end survives anywhere, in this process or another.
inline std::optional<std::string> read_to_eof(
    int read_end, std::chrono::milliseconds within = std::chrono::seconds(5)) {
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{read_end, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        char buffer[256];
        const auto n = ::read(read_end, buffer, sizeof buffer);
        if (n == 0) return got;
        if (n > 0) got.append(buffer, static_cast<std::size_t>(n));
    }
    return std::nullopt;
}

}  // namespace courier_test
