#pragma once
/// @file
/// Helpers for tests that start real processes: a private runtime directory per test,
/// forked children driven through pipes, running the courier binaries, and waits that
/// always have a deadline.

#include "registry/registry_client.hpp"

#include <courier/framework/node.hpp>

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace courier::test {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

/// Where courierd and courier are: $COURIER_BIN_DIR (set by ctest), else the directory of
/// this test executable.
std::filesystem::path bin_dir();

/// Checks `condition` every few milliseconds until it holds or `within` has passed; for
/// states with no event to wait on (a file gone, a process exited). Returns the last result.
bool eventually(const std::function<bool()>& condition, milliseconds within = 5s);

/// The pids of the courierd processes serving `runtime_dir` (from /proc).
std::vector<pid_t> courierd_pids(const std::filesystem::path& runtime_dir);

/// The pid of the courierd that answers on `runtime_dir`'s registry socket (its peer
/// credentials), 0 if none does. Unlike courierd_pids, never a courierd about to give way.
pid_t serving_courierd(const std::filesystem::path& runtime_dir);

class TempRuntimeDir;
/// Kills the courierd serving `dir` with SIGKILL and waits until it is gone; false if none
/// served, or it outlived the wait.
bool kill_courierd(const TempRuntimeDir& dir);

/// A private runtime directory (mkdtemp, 0700), so tests never share a registry and
/// `ctest -j` works. The destructor kills a courierd still serving it (a failed test) and
/// removes the directory.
class TempRuntimeDir {
  public:
    TempRuntimeDir();
    ~TempRuntimeDir();
    TempRuntimeDir(const TempRuntimeDir&) = delete;
    TempRuntimeDir& operator=(const TempRuntimeDir&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }
    /// Whether nothing but courierd's log is left (docs/registry.md, "Where courierd logs").
    bool is_empty() const;
    /// Waits for courierd to exit on idle and take its socket and lock with it.
    bool wait_until_empty(milliseconds within = 5s) const;
    /// Options for a client of this directory's registry, starting the courierd built
    /// with the tests, which exits after `idle_exit` with no node.
    RegistryOptions options(milliseconds idle_exit = 200ms) const;

  private:
    std::filesystem::path path_;
};

/// Options for a node named `name` on `dir`'s registry (its config from the environment).
NodeOptions node_options(const TempRuntimeDir& dir, std::string name);
/// The same, with the config `toml`.
NodeOptions configured(const TempRuntimeDir& dir, std::string name, const std::string& toml);

/// The child's side of the pipes to its parent.
class ChildChannel {
  public:
    ChildChannel(int from_parent, int to_parent) : in_(from_parent), out_(to_parent) {}
    void send(char c);
    /// Blocks until the parent writes a byte; 0 when the parent closed its end or died.
    char receive();

  private:
    int in_;
    int out_;
};

/// A forked child process running a function, driven by one-byte messages through pipes.
/// Fork children before starting threads in the test (e.g. before creating a client).
class Child {
  public:
    /// Forks; the child runs `body` and exits with its result (1 if it throws), without
    /// returning into the test framework.
    static Child fork(const std::function<int(ChildChannel&)>& body);
    Child(Child&& other) noexcept;
    Child& operator=(Child&&) = delete;
    /// Kills (SIGKILL) and reaps the child if it still runs.
    ~Child();

    pid_t pid() const noexcept { return pid_; }
    void send(char c);
    /// Waits for the child to write `c`; false if it writes something else, exits, or
    /// `within` passes.
    bool expect(char c, milliseconds within = 5s);
    /// The next byte the child writes; nullopt if it exits first or `within` passes.
    std::optional<char> next(milliseconds within = 5s);
    void kill(int signal);
    /// Waits for the child to end: its raw wait status, or nullopt at the deadline.
    std::optional<int> wait_exit(milliseconds within = 5s);

  private:
    Child(pid_t pid, int to_child, int from_child) : pid_(pid), to_(to_child), from_(from_child) {}
    pid_t pid_ = -1;
    int to_ = -1;
    int from_ = -1;
    bool reaped_ = false;
};

/// A program the test runs beside itself (fork and execve), with `env` ("NAME=value")
/// added to the test's environment. Given `listen_fd`, it gets that descriptor as fd 3
/// with LISTEN_FDS=1 and LISTEN_PID=<its pid>, as systemd passes a socket-activated
/// service its socket. The destructor kills (SIGKILL) and reaps it if it still runs.
class Program {
  public:
    static Program start(std::vector<std::string> argv, const std::vector<std::string>& env = {},
                         int listen_fd = -1);
    Program(Program&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
    Program& operator=(Program&&) = delete;
    ~Program();

    pid_t pid() const noexcept { return pid_; }
    void kill(int signal);
    /// Waits for it to end: its raw wait status, or nullopt at the deadline.
    std::optional<int> wait_exit(milliseconds within = 5s);

  private:
    explicit Program(pid_t pid) : pid_(pid) {}
    pid_t pid_ = -1;  ///< -1 once reaped
};

/// The notification socket a service manager binds for a Type=notify service
/// (NOTIFY_SOCKET), at `path`: what courierd tells systemd, the test reads. Removed on
/// destruction.
class NotifySocket {
  public:
    explicit NotifySocket(std::filesystem::path path);
    ~NotifySocket();
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    /// "NOTIFY_SOCKET=<path>", for Program::start.
    std::string environment() const { return "NOTIFY_SOCKET=" + path_.string(); }
    /// The next notification ("READY=1"); empty if none comes within `within`.
    std::string next(milliseconds within = 5s);

  private:
    std::filesystem::path path_;
    int socket_ = -1;
};

/// What a command printed and how it ended.
struct CommandResult {
    int exit_code = -1;  ///< -1 if it did not exit normally within the deadline
    std::string out;
};

/// Runs a program (argv[0] is its path) and captures its stdout; stderr is inherited.
CommandResult run_command(const std::vector<std::string>& argv, milliseconds within = 10s);

/// Collects NameDown messages from a client's reader thread for the test to wait on.
class NameDownBox {
  public:
    std::function<void(const registry::NameDown&)> handler();
    /// The first NameDown for `name`, waiting up to `within`.
    std::optional<registry::NameDown> wait_for(const std::string& name, milliseconds within = 5s);

  private:
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::vector<registry::NameDown> downs_;
};

/// Things a test's actors received, waited on with a deadline.
template <class T>
class Mailbag {
  public:
    void put(T value) {
        std::lock_guard lock(mutex_);
        items_.push_back(std::move(value));
        changed_.notify_all();
    }
    std::optional<T> take(std::chrono::milliseconds within = std::chrono::seconds(20)) {
        std::unique_lock lock(mutex_);
        if (!changed_.wait_for(lock, within, [&] { return !items_.empty(); })) return std::nullopt;
        T value = std::move(items_.front());
        items_.erase(items_.begin());
        return value;
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<T> items_;
};

}  // namespace courier::test
