#include "etcd_server.hpp"

#include "registry/etcd_client.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace courier::test {

namespace {

/// A port nothing listens on now on 127.0.0.1 (the kernel's pick). In a namespace of the
/// test's own, any port is free.
int free_port() {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) throw std::runtime_error("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (::bind(s, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
        ::close(s);
        throw std::runtime_error("bind a free port");
    }
    ::close(s);
    return ntohs(address.sin_port);
}

std::string find_etcd() {
    for (const char* path : {"/usr/bin/etcd", "/usr/local/bin/etcd"})
        if (::access(path, X_OK) == 0) return path;
    throw std::runtime_error("no etcd found: scripts/install-deps installs Debian's etcd-server");
}

}  // namespace

EtcdServer::EtcdServer(std::string address, std::string netns) {
    const std::string etcd = find_etcd();
    char pattern[] = "/tmp/courier-etcd-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp");
    dir_ = pattern;
    const int client_port = netns.empty() ? free_port() : 2379;
    const int peer_port = netns.empty() ? free_port() : 2380;
    endpoint_ = "http://" + address + ":" + std::to_string(client_port);
    const std::string peer = "http://" + address + ":" + std::to_string(peer_port);
    std::ostringstream command;
    command << "exec " << etcd << " --name courier-test --data-dir " << (dir_ / "data").string()
            << " --listen-client-urls " << endpoint_ << " --advertise-client-urls " << endpoint_
            << " --listen-peer-urls " << peer << " --initial-advertise-peer-urls " << peer
            << " --initial-cluster courier-test=" << peer << " >" << (dir_ / "etcd.log").string()
            << " 2>&1";
    std::vector<std::string> argv{"/bin/sh", "-c", command.str()};
    if (!netns.empty()) argv.insert(argv.begin(), {"/usr/sbin/ip", "netns", "exec", netns});
    process_.emplace(Program::start(argv));
    registry::EtcdClient client({endpoint_}, 500ms);
    const bool up = eventually(
        [&] {
            try {
                client.range("/courier-test-ready");
                return true;
            } catch (const registry::EtcdError&) {
                return false;
            }
        },
        20s);
    if (!up) throw std::runtime_error("etcd did not come up at " + endpoint_ + ":\n" + log());
}

EtcdServer::~EtcdServer() {
    if (process_) {
        process_->kill(SIGKILL);
        process_->wait_exit(5s);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

namespace {

/// The state letter of /proc/PID/stat: 'T' while stopped.
char state_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    const auto end = stat.rfind(')');  // the command may hold spaces and parentheses
    return end == std::string::npos || end + 2 >= stat.size() ? '?' : stat[end + 2];
}

}  // namespace

void EtcdServer::signal(int signal) {
    if (!process_) return;
    process_->kill(signal);
    // The stop (or the continue) takes effect a moment later: what the test does next
    // must meet it.
    if (signal == SIGSTOP) eventually([&] { return state_of(pid()) == 'T'; });
    if (signal == SIGCONT) eventually([&] { return state_of(pid()) != 'T'; });
}

std::string EtcdServer::log() const {
    std::ifstream in(dir_ / "etcd.log");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace courier::test
