#include "peer_process.hpp"

#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

extern char** environ;

namespace courier::bench {

namespace {

std::pair<Fd, Fd> make_pipe() {
    int ends[2];
    COURIER_SYSCALL(::pipe2, ends, O_CLOEXEC).value_or_throw("pipe for a peer");
    return {Fd(ends[0]), Fd(ends[1])};
}

/// This environment with `env` replacing or adding variables.
std::vector<std::string> environment_with(const Environment& env) {
    std::vector<std::string> out;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        std::string_view text(*entry);
        bool replaced = false;
        for (const auto& [name, value] : env)
            replaced |=
                text.starts_with(name) && text.size() > name.size() && text[name.size()] == '=';
        if (!replaced) out.emplace_back(text);
    }
    for (const auto& [name, value] : env) out.push_back(name + "=" + value);
    return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

}  // namespace

std::string self_executable() {
    return std::filesystem::read_symlink("/proc/self/exe").string();
}

PeerProcess::PeerProcess(const std::vector<std::string>& args, const std::vector<int>& fds,
                         const Environment& env, int netns) {
    auto [report_read, report_write] = make_pipe();
    auto [control_read, control_write] = make_pipe();
    std::vector<std::string> argv{self_executable()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--report-fd", std::to_string(report_write.get()), "--control-fd",
                             std::to_string(control_read.get())});
    auto envp_strings = environment_with(env);
    auto argv_pointers = pointers(argv);
    auto envp_pointers = pointers(envp_strings);
    std::vector<int> keep = fds;
    keep.push_back(report_write.get());
    keep.push_back(control_read.get());

    pid_ = ::fork();
    if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork a peer");
    if (pid_ == 0) {
        // The child: only async-signal-safe calls until exec.
        ::dup2(2, 1);  // stdout is the orchestrator's table; a peer's chatter goes to stderr
        for (int fd : keep) ::fcntl(fd, F_SETFD, 0);
        if (netns >= 0 && ::setns(netns, CLONE_NEWNET) != 0) ::_exit(126);
        ::execve(argv_pointers[0], argv_pointers.data(), envp_pointers.data());
        ::_exit(127);
    }
    report_ = std::move(report_read);
    control_ = std::move(control_write);
}

PeerProcess::~PeerProcess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

bool PeerProcess::go() {
    return command('g');
}

bool PeerProcess::ask_memory() {
    return command('m');
}

bool PeerProcess::command(char c) {
    auto wrote = COURIER_SYSCALL(::write, control_.get(), &c, std::size_t{1});
    return wrote.ok() && wrote.value == 1;
}

void PeerProcess::finish() noexcept {
    control_.reset();
}

int PeerProcess::wait_exit(Clock::time_point deadline) {
    if (pid_ <= 0) return -1;
    for (auto pause = std::chrono::milliseconds(1);;
         pause = std::min(pause * 2, decltype(pause)(50))) {
        int status = 0;
        auto got = COURIER_SYSCALL(::waitpid, pid_, &status, WNOHANG);
        if (got.ok() && got.value == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        if (Clock::now() >= deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
            return -1;
        }
        std::this_thread::sleep_for(pause);
    }
}

bool PeerProcess::read_lines(std::vector<std::string>& lines) {
    char buffer[4096];
    auto got = COURIER_SYSCALL(::read, report_.get(), buffer, sizeof(buffer));
    if (!got.ok() || got.value == 0) {
        eof_ = true;
        return false;
    }
    partial_.append(buffer, static_cast<std::size_t>(got.value));
    for (std::size_t end; (end = partial_.find('\n')) != std::string::npos;) {
        lines.push_back(partial_.substr(0, end));
        partial_.erase(0, end + 1);
    }
    return true;
}

void poll_reports(std::vector<PeerProcess*>& peers, PeerReports& reports,
                  std::chrono::milliseconds wait) {
    std::vector<pollfd> fds;
    for (auto* peer : peers) fds.push_back({peer->at_eof() ? -1 : peer->report_fd(), POLLIN, 0});
    (void)COURIER_SYSCALL(::poll, fds.data(), static_cast<nfds_t>(fds.size()),
                          static_cast<int>(wait.count()));
    for (std::size_t i = 0; i < peers.size(); ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        std::vector<std::string> lines;
        if (!peers[i]->read_lines(lines)) ++reports.closed;
        for (const auto& line : lines) {
            auto report = parse_report(line);
            switch (report.type) {
                case Report::Type::ready:
                    ++reports.ready;
                    break;
                case Report::Type::result:
                    reports.results[report.side].merge(report.fields);
                    break;
                case Report::Type::error:
                    reports.errors.push_back(report.text);
                    break;
            }
        }
    }
}

}  // namespace courier::bench
