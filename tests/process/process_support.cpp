#include "process_support.hpp"

#include <courier/fd.hpp>
#include <courier/framework/runtime_dir.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace courier::test {

namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

[[noreturn]] void fail(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

std::string read_small_file(const std::filesystem::path& path) {
    std::string text;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return text;
    char buffer[4096];
    for (;;) {
        auto got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        text.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fd);
    return text;
}

}  // namespace

std::filesystem::path bin_dir() {
    if (const char* dir = std::getenv("COURIER_BIN_DIR"); dir && *dir) return dir;
    return std::filesystem::read_symlink("/proc/self/exe").parent_path();
}

bool eventually(const std::function<bool()>& condition, milliseconds within) {
    auto deadline = Clock::now() + within;
    for (;;) {
        if (condition()) return true;
        if (Clock::now() >= deadline) return condition();
        std::this_thread::sleep_for(5ms);
    }
}

std::vector<pid_t> courierd_pids(const std::filesystem::path& runtime_dir) {
    std::vector<pid_t> pids;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string cmdline = read_small_file(entry.path() / "cmdline");
        std::vector<std::string> args;
        std::string arg;
        for (char c : cmdline) {
            if (c == '\0') {
                args.push_back(arg);
                arg.clear();
            } else {
                arg += c;
            }
        }
        if (args.empty() || std::filesystem::path(args[0]).filename() != "courierd") continue;
        for (std::size_t i = 0; i + 1 < args.size(); ++i)
            if (args[i] == "--runtime-dir" && args[i + 1] == runtime_dir.string())
                pids.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return pids;
}

pid_t serving_courierd(const std::filesystem::path& runtime_dir) {
    const auto socket = registry_socket_path(runtime_dir);
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (!fd || socket.string().size() >= sizeof address.sun_path) return 0;
    std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        return 0;
    ucred peer{};
    socklen_t length = sizeof peer;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) return 0;
    return peer.pid;
}

bool kill_courierd(const TempRuntimeDir& dir) {
    // Not courierd_pids: a courierd that a client started as a spare, under load, lives for
    // a moment before it finds the lock taken and gives way.
    const pid_t pid = serving_courierd(dir.path());
    if (pid <= 0 || ::kill(pid, SIGKILL) != 0) return false;
    return eventually([&] { return ::kill(pid, 0) != 0; });
}

// -- TempRuntimeDir -------------------------------------------------------------------------

TempRuntimeDir::TempRuntimeDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "courier-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) fail("mkdtemp " + pattern);
    path_ = pattern;
}

TempRuntimeDir::~TempRuntimeDir() {
    for (pid_t pid : courierd_pids(path_)) ::kill(pid, SIGKILL);
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

bool TempRuntimeDir::is_empty() const {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(path_, ec)) {
        // courierd's log (where no syslog listens) is meant to outlive it; the destructor
        // removes it with the directory.
        const auto name = entry.path().filename().string();
        if (name != "courierd.log" && name != "courierd.1.log") return false;
    }
    return !ec;
}

bool TempRuntimeDir::wait_until_empty(milliseconds within) const {
    return eventually([this] { return is_empty(); }, within);
}

RegistryOptions TempRuntimeDir::options(milliseconds idle_exit) const {
    RegistryOptions options;
    options.runtime_dir = path_;
    options.courierd = bin_dir() / "courierd";
    options.idle_exit = idle_exit;
    options.timeout = 5s;
    return options;
}

// -- Child ----------------------------------------------------------------------------------

void ChildChannel::send(char c) {
    while (::write(out_, &c, 1) < 0 && errno == EINTR) {
    }
}

char ChildChannel::receive() {
    char c = 0;
    for (;;) {
        auto n = ::read(in_, &c, 1);
        if (n == 1) return c;
        if (n < 0 && errno == EINTR) continue;
        return 0;
    }
}

Child Child::fork(const std::function<int(ChildChannel&)>& body) {
    int down[2];
    int up[2];
    if (::pipe2(down, O_CLOEXEC) != 0) fail("pipe2");
    if (::pipe2(up, O_CLOEXEC) != 0) fail("pipe2");
    pid_t pid = ::fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
        // Keep only our pipes: a sibling's pipe held open here would hide its EOF.
        for (int fd = 3; fd < 1024; ++fd)
            if (fd != down[0] && fd != up[1]) ::close(fd);
        int result = 1;
        try {
            ChildChannel channel(down[0], up[1]);
            result = body(channel);
        } catch (...) {
            result = 1;
        }
        ::_exit(result);
    }
    ::close(down[0]);
    ::close(up[1]);
    return Child(pid, down[1], up[0]);
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      to_(std::exchange(other.to_, -1)),
      from_(std::exchange(other.from_, -1)),
      reaped_(other.reaped_) {}

Child::~Child() {
    if (pid_ > 0 && !reaped_) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    if (to_ >= 0) ::close(to_);
    if (from_ >= 0) ::close(from_);
}

void Child::send(char c) {
    while (::write(to_, &c, 1) < 0 && errno == EINTR) {
    }
}

bool Child::expect(char c, milliseconds within) {
    return next(within) == c;
}

std::optional<char> Child::next(milliseconds within) {
    auto deadline = Clock::now() + within;
    for (;;) {
        pollfd p{from_, POLLIN, 0};
        int n = ::poll(&p, 1, ms_left(deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return std::nullopt;
        char got = 0;
        auto r = ::read(from_, &got, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r != 1) return std::nullopt;
        return got;
    }
}

void Child::kill(int signal) {
    ::kill(pid_, signal);
}

std::optional<int> Child::wait_exit(milliseconds within) {
    if (reaped_) return std::nullopt;
    int status = 0;
    bool done = eventually(
        [&] {
            pid_t r = ::waitpid(pid_, &status, WNOHANG);
            return r == pid_;
        },
        within);
    if (!done) return std::nullopt;
    reaped_ = true;
    return status;
}

// -- Program --------------------------------------------------------------------------------

Program Program::start(std::vector<std::string> argv, const std::vector<std::string>& env,
                       int listen_fd) {
    // Everything is prepared before fork: the child may only make async-signal-safe calls.
    auto named = [](const std::string& entry, const std::vector<std::string>& list) {
        const auto key = entry.substr(0, entry.find('=') + 1);
        for (const auto& other : list)
            if (other.starts_with(key)) return true;
        return false;
    };
    std::vector<std::string> environment;
    const std::vector<std::string> systemd_names{"LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES="};
    for (char** entry = environ; *entry; ++entry) {
        const std::string text = *entry;
        if (!named(text, env) && !named(text, systemd_names)) environment.push_back(text);
    }
    environment.insert(environment.end(), env.begin(), env.end());
    if (listen_fd >= 0) environment.push_back("LISTEN_FDS=1");
    std::vector<char*> raw_env;
    for (auto& entry : environment) raw_env.push_back(entry.data());
    char listen_pid[32] = "LISTEN_PID=";  // the pid is written in by the child
    if (listen_fd >= 0) raw_env.push_back(listen_pid);
    raw_env.push_back(nullptr);
    std::vector<char*> raw_argv;
    for (auto& arg : argv) raw_argv.push_back(arg.data());
    raw_argv.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
        if (listen_fd >= 0) {
            // Digits by hand: no snprintf after fork.
            char digits[16];
            int n = 0;
            for (pid_t self = ::getpid(); self > 0; self /= 10) digits[n++] = char('0' + self % 10);
            char* end = listen_pid + 11;
            while (n > 0) *end++ = digits[--n];
            *end = '\0';
            // dup2 clears close-on-exec, except when the descriptor is 3 already.
            if (listen_fd == 3)
                ::fcntl(3, F_SETFD, 0);
            else if (::dup2(listen_fd, 3) != 3)
                ::_exit(126);
        }
        ::execve(raw_argv[0], raw_argv.data(), raw_env.data());
        ::_exit(127);
    }
    return Program(pid);
}

Program::~Program() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
}

void Program::kill(int signal) {
    if (pid_ > 0) ::kill(pid_, signal);
}

std::optional<int> Program::wait_exit(milliseconds within) {
    if (pid_ <= 0) return std::nullopt;
    int status = 0;
    if (!eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, within))
        return std::nullopt;
    pid_ = -1;
    return status;
}

// -- NotifySocket ---------------------------------------------------------------------------

NotifySocket::NotifySocket(std::filesystem::path path) : path_(std::move(path)) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path_.string().size() >= sizeof address.sun_path) throw std::length_error(path_.string());
    std::strcpy(address.sun_path, path_.c_str());
    socket_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (socket_ < 0) fail("socket");
    if (::bind(socket_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        ::close(socket_);
        fail("bind " + path_.string());
    }
}

NotifySocket::~NotifySocket() {
    ::close(socket_);
    ::unlink(path_.c_str());
}

std::string NotifySocket::next(milliseconds within) {
    pollfd p{socket_, POLLIN, 0};
    auto deadline = Clock::now() + within;
    for (;;) {
        const int n = ::poll(&p, 1, ms_left(deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return {};
        break;
    }
    char buffer[512];
    const auto got = ::recv(socket_, buffer, sizeof buffer, MSG_DONTWAIT);
    return got > 0 ? std::string(buffer, static_cast<std::size_t>(got)) : std::string();
}

// -- run_command ----------------------------------------------------------------------------

CommandResult run_command(const std::vector<std::string>& argv, milliseconds within) {
    std::vector<std::string> args = argv;
    std::vector<char*> raw;
    for (auto& arg : args) raw.push_back(arg.data());
    raw.push_back(nullptr);
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) fail("pipe2");
    pid_t pid = ::fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
        ::dup2(out[1], 1);
        ::execv(raw[0], raw.data());
        ::_exit(127);
    }
    ::close(out[1]);
    CommandResult result;
    auto deadline = Clock::now() + within;
    for (;;) {
        pollfd p{out[0], POLLIN, 0};
        int n = ::poll(&p, 1, ms_left(deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        char buffer[4096];
        auto got = ::read(out[0], buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        result.out.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(out[0]);
    int status = 0;
    bool exited = eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; },
                             milliseconds{std::max(ms_left(deadline), 100)});
    if (!exited) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        return result;
    }
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    return result;
}

// -- NameDownBox ----------------------------------------------------------------------------

std::function<void(const registry::NameDown&)> NameDownBox::handler() {
    return [this](const registry::NameDown& down) {
        {
            std::lock_guard lock(mutex_);
            downs_.push_back(down);
        }
        arrived_.notify_all();
    };
}

std::optional<registry::NameDown> NameDownBox::wait_for(const std::string& name,
                                                        milliseconds within) {
    std::unique_lock lock(mutex_);
    std::optional<registry::NameDown> found;
    arrived_.wait_for(lock, within, [&] {
        for (const auto& down : downs_)
            if (down.name == name) {
                found = down;
                return true;
            }
        return false;
    });
    return found;
}

NodeOptions node_options(const TempRuntimeDir& dir, std::string name) {
    NodeOptions options;
    options.name = std::move(name);
    options.registry = dir.options();
    return options;
}

NodeOptions configured(const TempRuntimeDir& dir, std::string name, const std::string& toml) {
    auto options = node_options(dir, std::move(name));
    options.config = Config::parse(toml, "test.toml");
    return options;
}

}  // namespace courier::test
