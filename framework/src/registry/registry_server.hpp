#pragma once
/// @file
/// The per-host registry daemon's engine, private to courierd: the lock that makes it
/// the only one in its runtime directory, and the epoll loop that serves nodes.

#include <courier/fd.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
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

struct ServerOptions {
    std::filesystem::path runtime_dir;
    /// Exit after this long with no node connected; zero: never.
    std::chrono::milliseconds idle_exit{10000};
    /// Stop cleanly on SIGTERM and SIGINT (the server blocks them and reads a signalfd).
    bool handle_signals = true;
};

/// Serves the registry protocol (registry_protocol.hpp) on `<dir>/registry.sock`.
class RegistryServer {
  public:
    /// Binds the socket, replacing a stale one; `lock` proves we may. Throws
    /// std::system_error when the socket cannot be bound.
    RegistryServer(ServerOptions options, DaemonLock lock);
    ~RegistryServer();
    RegistryServer(const RegistryServer&) = delete;
    RegistryServer& operator=(const RegistryServer&) = delete;

    /// Serves until idle exit or a stop signal, then closes every connection, removes
    /// the socket and then the lock file (still holding the lock), and returns.
    void run();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace courier::registry
