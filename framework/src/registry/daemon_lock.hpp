#pragma once
/// @file
/// The lock that makes a courierd the only one serving its runtime directory.

#include <courier/fd.hpp>

#include <filesystem>
#include <optional>

namespace courier::registry {

/// The flock on `<dir>/courierd.lock` that the running courierd holds for its lifetime.
/// Whoever holds it owns the directory's registry socket, so a socket file found while
/// holding it is stale and may be replaced.
class DaemonLock {
  public:
    /// Takes the lock without waiting; std::nullopt when another courierd holds it.
    /// Writes our pid into the file. Throws std::system_error when the file cannot be
    /// opened or locked for another reason.
    static std::optional<DaemonLock> try_acquire(const std::filesystem::path& runtime_dir);

    DaemonLock(DaemonLock&&) noexcept = default;
    DaemonLock& operator=(DaemonLock&&) noexcept = default;
    /// Releases the lock, leaving the file (use remove() on a clean exit).
    ~DaemonLock() = default;

    /// Removes the lock file while still holding the lock, then releases it, so a courierd
    /// starting meanwhile never locks a file that is about to vanish.
    void remove() noexcept;

    const std::filesystem::path& path() const noexcept { return path_; }

  private:
    DaemonLock(std::filesystem::path path, Fd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
    std::filesystem::path path_;
    Fd fd_;
};

}  // namespace courier::registry
