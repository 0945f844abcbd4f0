#include "private_registry.hpp"

#include "peer_process.hpp"

#include <courier/framework/runtime_dir.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

namespace courier::bench {

namespace {

std::string courierd_path() {
    auto beside = std::filesystem::path(self_executable()).parent_path() / "courierd";
    if (::access(beside.c_str(), X_OK) == 0) return beside.string();
    return "courierd";
}

/// Waits for `pid` until `deadline`; true if it exited.
bool reaped(pid_t pid, std::chrono::steady_clock::time_point deadline) {
    while (std::chrono::steady_clock::now() < deadline) {
        if (::waitpid(pid, nullptr, WNOHANG) == pid) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

std::vector<std::string> arguments_of(const std::filesystem::path& proc_entry) {
    std::ifstream in(proc_entry / "cmdline", std::ios::binary);
    std::vector<std::string> args;
    for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
    return args;
}

}  // namespace

PrivateRegistry::PrivateRegistry() {
    std::string pattern = std::filesystem::temp_directory_path() / "courier-bench.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::system_error(errno, std::generic_category(), "mkdtemp for the registry");
    dir_ = pattern;
    const std::string program = courierd_path();
    std::vector<std::string> args{program,       "--foreground", "--runtime-dir",
                                  dir_.string(), "--idle-exit",  "0",
                                  "--log-level", "warn"};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork courierd");
    if (pid_ == 0) {
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    const auto socket = registry_socket_path(dir_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!std::filesystem::exists(socket)) {
        std::string failure;
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            failure = "courierd (" + program + ") exited at once";
        } else if (std::chrono::steady_clock::now() >= deadline) {
            failure = "courierd (" + program + ") did not serve " + dir_.string() + " within 10 s";
        }
        if (!failure.empty()) {
            shut_down();
            throw std::runtime_error(failure);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

PrivateRegistry::~PrivateRegistry() {
    shut_down();
}

std::vector<pid_t> PrivateRegistry::serving() const {
    std::vector<pid_t> pids;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        const auto args = arguments_of(entry.path());  // empty for a zombie
        if (args.empty() || std::filesystem::path(args[0]).filename() != "courierd") continue;
        for (std::size_t i = 0; i + 1 < args.size(); ++i)
            if (args[i] == "--runtime-dir" && args[i + 1] == dir_.string())
                pids.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return pids;
}

void PrivateRegistry::stop() noexcept {
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        if (!reaped(pid_, std::chrono::steady_clock::now() + std::chrono::seconds(5))) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        pid_ = -1;
    }
    if (dir_.empty()) return;
    // Ones the nodes started (not our children: we can only watch them go).
    try {
        const auto others = serving();
        for (pid_t pid : others) ::kill(pid, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!serving().empty() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        for (pid_t pid : serving()) ::kill(pid, SIGKILL);
    } catch (const std::exception&) {
        // /proc unreadable: nothing more we can find to stop
    }
}

std::vector<std::string> PrivateRegistry::shut_down() noexcept {
    std::vector<std::string> left;
    stop();
    if (dir_.empty()) return left;
    std::error_code ec;
    try {
        for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
            // The log of a courierd started on demand where no syslog listens: not a
            // leftover, a file meant to outlive it (docs/registry.md).
            const auto name = entry.path().filename().string();
            if (name != "courierd.log" && name != "courierd.1.log") left.push_back(name);
        }
    } catch (const std::exception&) {
    }
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
    return left;
}

}  // namespace courier::bench
