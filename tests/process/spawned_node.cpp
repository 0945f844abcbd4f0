// courier-test-spawned-node <node> <parent node>: the child spawn_test.cpp starts with
// Node::spawn_process. Its actor "echo" answers Ping n with Pong n + 1 and ends the
// process on Quit; when it starts it sends the parent's "inbox" a Report of what the
// child inherited and how it is linked to <parent node>.

#include "spawn_messages.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace {

/// The descriptors open now (but the one reading the list).
std::vector<int> open_fds() {
    std::vector<int> fds;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return fds;
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] == '.') continue;
        const int fd = std::atoi(entry->d_name);
        if (fd != ::dirfd(dir)) fds.push_back(fd);
    }
    ::closedir(dir);
    return fds;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: courier-test-spawned-node <node> <parent node>\n";
        return 2;
    }
    spawn_wire::Report report;
    report.node = argv[1];
    report.fds_at_start = open_fds();
    // Dies with the test that spawned it, so a test that crashes leaves no process behind.
    const pid_t parent_pid = ::getppid();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent_pid) return 1;
    const std::string parent = argv[2];

    courier::NodeOptions options;
    options.name = report.node;
    courier::Node node(options);
    report.inherited_cloexec = true;
    for (int fd : report.fds_at_start)
        if (fd > 2) report.inherited_cloexec &= (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
    report.endpoints = node.endpoints();

    int exit_code = 1;
    node.spawn("echo", [&](courier::Actor& self) {
        self.handle<spawn_wire::Ping>(
            [&self](spawn_wire::Ping& ping) { self.reply(spawn_wire::Pong{ping.n + 1}); });
        self.handle<spawn_wire::Quit>([&](spawn_wire::Quit& quit) {
            exit_code = quit.code;
            self.node().shutdown();
        });
        for (const auto& link : self.node().links()) {
            if (link.peer_node != parent) continue;
            report.parent_transport = link.transport;
            report.parent_reason = link.reason;
        }
        self.send("inbox", report);
    });
    node.wait();
    return exit_code;
}
