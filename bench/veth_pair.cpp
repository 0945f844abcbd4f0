#include "veth_pair.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <vector>

namespace courier::bench {

namespace {

constexpr const char* ip_tool = "/usr/sbin/ip";

/// Runs ip(8) with `args`, its output to stderr (the benchmark's stdout is its tables).
bool ip(const std::vector<std::string>& args) {
    std::vector<std::string> argv{ip_tool};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> pointers;
    for (auto& arg : argv) pointers.push_back(arg.data());
    pointers.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
        ::dup2(2, 1);
        ::execv(ip_tool, pointers.data());
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) continue;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

VethPair::VethPair() {
    if (::geteuid() != 0 || ::access(ip_tool, X_OK) != 0)
        throw std::runtime_error("--scenario veth makes network namespaces: it needs root and " +
                                 std::string(ip_tool));
    const std::string tag = std::to_string(::getpid());
    a_ = "courier-bench-" + tag + "-a";
    b_ = "courier-bench-" + tag + "-b";
    const std::string veth_a = "cb" + tag + "a", veth_b = "cb" + tag + "b";
    const bool made =
        ip({"netns", "add", a_}) && ip({"netns", "add", b_}) &&
        ip({"link", "add", veth_a, "netns", a_, "type", "veth", "peer", "name", veth_b, "netns",
            b_}) &&
        ip({"-n", a_, "addr", "add", address(Side::a) + "/24", "dev", veth_a}) &&
        ip({"-n", b_, "addr", "add", address(Side::b) + "/24", "dev", veth_b}) &&
        ip({"-n", a_, "link", "set", "lo", "up"}) && ip({"-n", b_, "link", "set", "lo", "up"}) &&
        ip({"-n", a_, "link", "set", veth_a, "up"}) && ip({"-n", b_, "link", "set", veth_b, "up"});
    if (made) {
        a_fd_ = Fd(::open(("/run/netns/" + a_).c_str(), O_RDONLY | O_CLOEXEC));
        b_fd_ = Fd(::open(("/run/netns/" + b_).c_str(), O_RDONLY | O_CLOEXEC));
    }
    char dir[] = "/tmp/courier-bench-veth.XXXXXX";
    if (!made || !a_fd_ || !b_fd_ || ::mkdtemp(dir) == nullptr) {
        remove();
        throw std::runtime_error("could not make the network namespaces of --scenario veth");
    }
    dir_ = dir;
    for (Side side : {Side::a, Side::b})
        std::ofstream(config(side)) << "[transport.tcp]\nlisten = \"" << address(side) << ":0\"\n";
}

VethPair::~VethPair() {
    remove();
}

void VethPair::remove() noexcept {
    a_fd_ = Fd();
    b_fd_ = Fd();
    // Deleting a namespace deletes its end of the pair, and so the pair.
    if (!a_.empty()) ip({"netns", "del", a_});
    if (!b_.empty()) ip({"netns", "del", b_});
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

std::string VethPair::address(Side side) {
    return side == Side::b ? "10.233.0.2" : "10.233.0.1";
}

std::filesystem::path VethPair::config(Side side) const {
    return dir_ / (side == Side::b ? "b.toml" : "a.toml");
}

std::string VethPair::describe() {
    return "each side in a network namespace of its own, joined by a veth pair "
           "(10.233.0.1 - 10.233.0.2)";
}

}  // namespace courier::bench
