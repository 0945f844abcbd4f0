#pragma once
/// @file
/// A real etcd server for one test (Debian's etcd-server, which scripts/install-deps
/// installs): its own data directory and ports, on loopback or on an address of a network
/// namespace the test made. Killed, and its directory removed, at the end.

#include "process_support.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace courier::test {

class EtcdServer {
  public:
    /// Starts etcd on `address` (in network namespace `netns`, when given) and waits until
    /// it answers. Throws when there is no etcd or it does not come up.
    explicit EtcdServer(std::string address = "127.0.0.1", std::string netns = {});
    ~EtcdServer();
    EtcdServer(const EtcdServer&) = delete;
    EtcdServer& operator=(const EtcdServer&) = delete;

    /// "http://address:port": where clients reach it.
    const std::string& endpoint() const noexcept { return endpoint_; }
    pid_t pid() const noexcept { return process_ ? process_->pid() : -1; }
    /// Sends `signal` to etcd (SIGSTOP and SIGCONT make it unreachable and back, and
    /// return once it is stopped, or running again).
    void signal(int signal);
    /// What etcd logged, for a failed test's message.
    std::string log() const;

  private:
    std::filesystem::path dir_;
    std::string endpoint_;
    std::optional<Program> process_;
};

}  // namespace courier::test
