#pragma once
/// @file
/// The orchestrator's side of a measured process: a copy of courier-bench started with
/// `--role`, its report pipe (read line by line) and its control pipe. A PeerProcess
/// that is still running when destroyed is killed and reaped: a run that failed or hung
/// leaves no process behind.

#include "peer_protocol.hpp"

#include <courier/fd.hpp>

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace courier::bench {

using Clock = std::chrono::steady_clock;
using Environment = std::vector<std::pair<std::string, std::string>>;

class PeerProcess {
  public:
    /// Starts this program with `args` (plus the pipes' options), inheriting `fds`, with
    /// `env` set on top of this process's environment, in network namespace `netns` (an
    /// open descriptor; -1: this one's). Throws std::system_error.
    PeerProcess(const std::vector<std::string>& args, const std::vector<int>& fds,
                const Environment& env, int netns = -1);
    ~PeerProcess();
    PeerProcess(const PeerProcess&) = delete;
    PeerProcess& operator=(const PeerProcess&) = delete;

    /// Tells the peer to start; false if it is gone.
    bool go();
    /// Asks the peer to report its memory; false if it is gone.
    bool ask_memory();
    /// Tells the peer to exit (closes its control pipe).
    void finish() noexcept;
    /// Waits for the exit until `deadline`, then kills. The exit status, or -1 if killed.
    int wait_exit(Clock::time_point deadline);

    int report_fd() const noexcept { return report_.get(); }
    /// Reads what is available; complete lines are appended to `lines`. False at EOF.
    bool read_lines(std::vector<std::string>& lines);
    bool at_eof() const noexcept { return eof_; }
    pid_t pid() const noexcept { return pid_; }

  private:
    bool command(char c);
    pid_t pid_ = -1;
    Fd report_, control_;
    std::string partial_;
    bool eof_ = false;
};

/// The path of this program (/proc/self/exe), to start peers and find courierd beside it.
std::string self_executable();

/// What the peers of one run said.
struct PeerReports {
    std::size_t ready = 0;
    /// By side; the fields of a side's result lines together.
    std::map<std::string, std::map<std::string, std::string>> results;
    std::vector<std::string> errors;
    std::size_t closed = 0;  ///< peers whose report pipe closed
};

/// Reads report lines from `peers` until `done(reports)` holds, a peer reports an error
/// or closes its pipe early, or `deadline()` passes. False on the deadline.
template <class Deadline, class Done>
bool collect_reports(std::vector<PeerProcess*>& peers, PeerReports& reports, Deadline deadline,
                     Done done);

/// Non-template part of collect_reports: one poll round of at most `wait`.
void poll_reports(std::vector<PeerProcess*>& peers, PeerReports& reports,
                  std::chrono::milliseconds wait);

template <class Deadline, class Done>
bool collect_reports(std::vector<PeerProcess*>& peers, PeerReports& reports, Deadline deadline,
                     Done done) {
    while (!done(reports)) {
        if (!reports.errors.empty() || reports.closed > 0) return true;
        const auto now = Clock::now();
        const auto until = deadline();
        if (now >= until) return false;
        poll_reports(peers, reports,
                     std::min(std::chrono::duration_cast<std::chrono::milliseconds>(until - now),
                              std::chrono::milliseconds(200)) +
                         std::chrono::milliseconds(1));
    }
    return true;
}

}  // namespace courier::bench
