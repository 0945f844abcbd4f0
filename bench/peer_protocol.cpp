#include "peer_protocol.hpp"

#include <courier/posix_call.hpp>

#include <sched.h>
#include <unistd.h>

#include <ctime>

namespace courier::bench {

void Reporter::line(std::string text) const {
    for (auto& c : text)
        if (c == '\n') c = ' ';
    if (text.size() > 3000) text.resize(3000);
    text += '\n';
    // A failed report shows as a missing line, which the orchestrator reports.
    (void)COURIER_SYSCALL(::write, fd_, text.data(), text.size());
}

void Reporter::ready() const {
    line("ready");
}

void Reporter::result(Side side, const Fields& fields) const {
    std::string text = side == Side::a ? "result side=a" : "result side=b";
    for (const auto& [key, value] : fields) text += " " + key + "=" + value;
    line(std::move(text));
}

void Reporter::error(std::string_view text) const {
    line("error " + std::string(text));
}

bool Control::wait_go() const {
    char c = 0;
    auto got = COURIER_SYSCALL(::read, fd_, &c, std::size_t{1});
    return got.ok() && got.value == 1 && c == 'g';
}

void Control::wait_end() const {
    char buffer[16];
    for (;;) {
        auto got = COURIER_SYSCALL(::read, fd_, buffer, sizeof(buffer));
        if (!got.ok() || got.value == 0) return;
    }
}

bool Control::wait_memory_request() const {
    for (;;) {
        char c = 0;
        auto got = COURIER_SYSCALL(::read, fd_, &c, std::size_t{1});
        if (!got.ok() || got.value == 0) return false;
        if (c == 'm') return true;
    }
}

Report parse_report(std::string_view line) {
    Report report;
    if (line == "ready") {
        report.type = Report::Type::ready;
        return report;
    }
    if (line.starts_with("result ")) {
        report.type = Report::Type::result;
        line.remove_prefix(7);
        while (!line.empty()) {
            auto end = line.find(' ');
            auto word = line.substr(0, end);
            line.remove_prefix(end == std::string_view::npos ? line.size() : end + 1);
            auto equals = word.find('=');
            if (equals == std::string_view::npos) continue;
            std::string key(word.substr(0, equals)), value(word.substr(equals + 1));
            if (key == "side")
                report.side = value;
            else
                report.fields[key] = value;
        }
        return report;
    }
    report.text = line.starts_with("error ") ? std::string(line.substr(6)) : std::string(line);
    return report;
}

void pin_to(const std::vector<int>& cpus) {
    if (cpus.empty()) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu : cpus) CPU_SET(static_cast<std::size_t>(cpu), &set);
    COURIER_SYSCALL(::sched_setaffinity, 0, sizeof(set), &set)
        .value_or_throw("pinning to the CPUs given by --pin");
}

std::uint64_t now_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace courier::bench
