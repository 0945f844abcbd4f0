#include "private_registry.hpp"

#include "peer_process.hpp"

#include <courier/framework/runtime_dir.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
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
            stop();
            throw std::runtime_error(failure);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

PrivateRegistry::~PrivateRegistry() {
    stop();
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
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

}  // namespace courier::bench
