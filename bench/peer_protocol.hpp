#pragma once
/// @file
/// How courier-bench talks with the copies of itself it measures. Each peer gets two
/// pipes: on its report fd it writes lines — `ready`, `result side=<a|b> key=value ...`
/// (a side may report in several lines, whose fields add up) or `error <text>` — and on
/// its control fd it reads `g` (start), then `m` (report your memory; slow-receiver runs)
/// any number of times, then end of file (exit). Every line is one write(2) below
/// PIPE_BUF, so threads may report at once.

#include "options.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier::bench {

using Fields = std::vector<std::pair<std::string, std::string>>;

/// The peer's end of its report pipe.
class Reporter {
  public:
    explicit Reporter(int fd) noexcept : fd_(fd) {}
    void ready() const;
    void result(Side side, const Fields& fields) const;
    void error(std::string_view text) const;

  private:
    void line(std::string text) const;
    int fd_;
};

/// The peer's end of its control pipe.
class Control {
  public:
    explicit Control(int fd) noexcept : fd_(fd) {}
    /// Blocks until the orchestrator says go; false if it closed the pipe instead.
    bool wait_go() const;
    /// Blocks until the orchestrator closes the pipe.
    void wait_end() const;
    /// Blocks until the orchestrator asks for a memory report (true) or closes the pipe
    /// (false).
    bool wait_memory_request() const;

  private:
    int fd_;
};

/// One line from a peer, parsed.
struct Report {
    enum class Type { ready, result, error } type = Type::error;
    std::string side;                           ///< of a result
    std::map<std::string, std::string> fields;  ///< of a result
    std::string text;                           ///< of an error
};
Report parse_report(std::string_view line);

/// Runs the calling thread (and the threads it starts later) on these CPUs only. Throws
/// std::system_error.
void pin_to(const std::vector<int>& cpus);

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process of the host, so a sender's
/// start and a receiver's end can be subtracted.
std::uint64_t now_ns() noexcept;

}  // namespace courier::bench
