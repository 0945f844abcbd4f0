// courier-test-spawned-node <node> <parent node> [options]: the child spawn_test.cpp starts
// with Node::spawn_process, and supervisor_test.cpp's children. Its actor "echo" answers
// Ping n with Pong n + 1 and ends the process on Quit; when it starts it sends the
// parent's "inbox" a Report of what the child inherited and how it is linked to
// <parent node>. Options:
//   --names a,b        actors with these names instead of "echo" (the first one reports)
//   --no-report        send no Report
//   --crash-after MS   end the process MS ms after its actors started, with --exit's code
//   --exit CODE        (default 1)
//   --no-parent-guard  do not die with the parent by ourselves (the parent must see to it)
//   --log FILE         append this process's pid to FILE as it begins (counts its starts)
//   --exit-at-start CODE  exit with CODE before making its node: it registers nothing
//   --start-delay MS   wait MS before making its node (a child slow to come up, or one
//                      that never does within its start timeout)
//   --ignore-sigterm   only SIGKILL ends it (no clean stop on SIGTERM)

#include "spawn_messages.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <utility>
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

std::vector<std::string> split(const std::string& list) {
    std::vector<std::string> out;
    std::size_t from = 0;
    while (from <= list.size()) {
        const std::size_t comma = std::min(list.find(',', from), list.size());
        out.push_back(list.substr(from, comma - from));
        from = comma + 1;
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: courier-test-spawned-node <node> <parent node> [options]\n";
        return 2;
    }
    std::vector<std::string> names{"echo"};
    bool send_report = true;
    bool parent_guard = true;
    long crash_after_ms = -1;
    int crash_code = 1;
    std::string log;
    int exit_at_start = -1;
    long start_delay_ms = 0;
    bool ignore_sigterm = false;
    for (int i = 3; i < argc; ++i) {
        const std::string flag = argv[i];
        const bool has_value = i + 1 < argc;
        if (flag == "--names" && has_value) {
            names = split(argv[++i]);
        } else if (flag == "--no-report") {
            send_report = false;
        } else if (flag == "--crash-after" && has_value) {
            crash_after_ms = std::atol(argv[++i]);
        } else if (flag == "--exit" && has_value) {
            crash_code = std::atoi(argv[++i]);
        } else if (flag == "--no-parent-guard") {
            parent_guard = false;
        } else if (flag == "--log" && has_value) {
            log = argv[++i];
        } else if (flag == "--exit-at-start" && has_value) {
            exit_at_start = std::atoi(argv[++i]);
        } else if (flag == "--start-delay" && has_value) {
            start_delay_ms = std::atol(argv[++i]);
        } else if (flag == "--ignore-sigterm") {
            ignore_sigterm = true;
        } else {
            std::cerr << "courier-test-spawned-node: unknown option " << flag << "\n";
            return 2;
        }
    }
    spawn_wire::Report report;
    report.node = argv[1];
    report.fds_at_start = open_fds();
    // Dies with the test that spawned it, so a test that crashes leaves no process behind.
    if (parent_guard) {
        const pid_t parent_pid = ::getppid();
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent_pid) return 1;
    }
    if (!log.empty()) std::ofstream(log, std::ios::app) << ::getpid() << "\n";
    if (exit_at_start >= 0) return exit_at_start;
    if (ignore_sigterm) ::signal(SIGTERM, SIG_IGN);
    std::this_thread::sleep_for(std::chrono::milliseconds(start_delay_ms));
    const std::string parent = argv[2];

    courier::NodeOptions options;
    options.name = report.node;
    options.handle_signals = !ignore_sigterm;
    courier::Node node(options);
    report.inherited_cloexec = true;
    for (int fd : report.fds_at_start)
        if (fd > 2) report.inherited_cloexec &= (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
    report.endpoints = node.endpoints();

    int exit_code = 1;
    for (const auto& name : names) {
        const bool reporter = send_report && name == names.front();
        node.spawn(name, [&, reporter](courier::Actor& self) {
            self.handle<spawn_wire::Ping>(
                [&self](spawn_wire::Ping& ping) { self.reply(spawn_wire::Pong{ping.n + 1}); });
            // Sent back as it came: a large one straight from the frame it arrived in.
            self.handle<spawn_wire::Blob>(
                [&self](spawn_wire::Blob& blob) { self.reply(std::move(blob)); });
            self.handle<spawn_wire::Quit>([&](spawn_wire::Quit& quit) {
                exit_code = quit.code;
                self.node().shutdown();
            });
            if (!reporter) return;
            for (const auto& link : self.node().links()) {
                if (link.peer_node != parent) continue;
                report.parent_transport = link.transport;
                report.parent_reason = link.reason;
            }
            self.send("inbox", report);
        });
    }
    if (crash_after_ms >= 0) {
        std::thread([crash_after_ms, crash_code] {
            std::this_thread::sleep_for(std::chrono::milliseconds(crash_after_ms));
            std::_Exit(crash_code);
        }).detach();
    }
    node.wait();
    return exit_code;
}
