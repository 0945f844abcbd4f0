#include "log_target.hpp"

#include <courier/fd.hpp>
#include <courier/log.hpp>
#include <courier/posix_call.hpp>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>

namespace courierd {

namespace {

/// Where syslog(3) sends. COURIER_TEST_SYSLOG_SOCKET stands in for it in the tests, which
/// must see courierd without a syslog on any machine.
std::string syslog_socket_path() {
    if (const char* test = std::getenv("COURIER_TEST_SYSLOG_SOCKET"); test && *test) return test;
    return "/dev/log";
}

/// Whether a syslog daemon would take our lines: a datagram socket is there and accepts a
/// connection. Without one, syslog(3) drops every line without a word.
bool syslog_listens(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) return false;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const auto made = COURIER_SYSCALL(::socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (!made.ok()) return false;
    courier::Fd probe(static_cast<int>(made.value));
    return COURIER_SYSCALL(::connect, probe.get(), reinterpret_cast<const sockaddr*>(&address),
                           socklen_t{sizeof address})
        .ok();
}

/// Whether our stderr is the journal's stream: systemd sets JOURNAL_STREAM to its
/// "device:inode", which a child of ours with stderr redirected would still inherit.
bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (!stream || !*stream) return false;
    struct stat st {};
    if (::fstat(STDERR_FILENO, &st) != 0) return false;
    unsigned long long device = 0;
    unsigned long long inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
    return device == st.st_dev && inode == st.st_ino;
}

/// "<N>", the syslog priority of a line's level, which journald takes off a line on a
/// service's stderr and files the line under (journalctl -p).
class SyslogPriority final : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& message, const std::tm&,
                spdlog::memory_buf_t& out) override {
        // trace, debug, info, warn, err, critical, off
        static constexpr char priority[] = {'7', '7', '6', '4', '3', '2', '6'};
        out.push_back('<');
        out.push_back(priority[static_cast<std::size_t>(message.level)]);
        out.push_back('>');
    }
    std::unique_ptr<spdlog::custom_flag_formatter> clone() const override {
        return std::make_unique<SyslogPriority>();
    }
};

}  // namespace

LogTarget choose_log_target(const std::filesystem::path& log_file, bool foreground, bool syslog,
                            const std::filesystem::path& runtime_dir) {
    using Kind = LogTarget::Kind;
    if (!log_file.empty()) return {Kind::file, log_file, "--log-file"};
    if (stderr_is_journal()) return {Kind::journal, {}, "stderr is the journal"};
    if (foreground && !syslog) return {Kind::stderr_stream, {}, "--foreground"};
    const std::string socket = syslog_socket_path();
    if (syslog_listens(socket)) return {Kind::syslog, {}, "syslog listens on " + socket};
    return {Kind::file, runtime_dir / "courierd.log", "no syslog listens on " + socket};
}

void log_to(const LogTarget& target, spdlog::level::level_enum level) {
    std::shared_ptr<spdlog::logger> logger;
    switch (target.kind) {
        case LogTarget::Kind::stderr_stream:
            logger = std::make_shared<spdlog::logger>(
                "courierd", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
            break;
        case LogTarget::Kind::journal: {
            logger = std::make_shared<spdlog::logger>(
                "courierd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
            auto formatter = std::make_unique<spdlog::pattern_formatter>();
            formatter->add_flag<SyslogPriority>('*').set_pattern("%*%v");
            logger->set_formatter(std::move(formatter));
            break;
        }
        case LogTarget::Kind::syslog:
            logger = std::make_shared<spdlog::logger>(
                "courierd", std::make_shared<spdlog::sinks::syslog_sink_mt>("courierd", LOG_PID,
                                                                            LOG_DAEMON, false));
            break;
        case LogTarget::Kind::file:
            // Created owner-only through courierd's umask (main.cpp), rotated files too.
            logger = std::make_shared<spdlog::logger>(
                "courierd", std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
                                target.file.string(), log_file_limit, log_files_kept));
            // A line at a time: courierd logs little, and a crash must not take the last.
            logger->flush_on(spdlog::level::trace);
            break;
    }
    // The registry's code logs through courier's logger: the same target, at --log-level
    // (set after set_logger, which would apply $COURIER_LOG_LEVEL: courierd's flag wins).
    courier::set_logger(logger);
    logger->set_level(level);
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace courierd
