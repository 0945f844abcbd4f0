/// courierd: the per-host registry daemon. Nodes start it on demand (RegistryClient);
/// it can also be run by hand. docs/registry.md describes its options and lifecycle.

#include "registry/registry_server.hpp"

#include <courier/framework/runtime_dir.hpp>
#include <courier/posix_call.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <string>

namespace {

/// Leaves the terminal: the parent exits once we are bound, so `courierd &&` sees a
/// serving registry; the daemon goes on in its own session with stdio on /dev/null.
/// Returns false in the parent.
bool detach() {
    if (COURIER_SYSCALL(::fork).value_or_throw("cannot detach") > 0) return false;
    ::setsid();
    pid_t grandchild = ::fork();
    if (grandchild < 0) ::_exit(1);
    if (grandchild > 0) ::_exit(0);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
        if (null > 2) ::close(null);
    }
    return true;
}

void log_to_syslog(const std::string& level) {
    auto sink =
        std::make_shared<spdlog::sinks::syslog_sink_mt>("courierd", LOG_PID, LOG_DAEMON, false);
    auto logger = std::make_shared<spdlog::logger>("courierd", sink);
    logger->set_level(spdlog::level::from_str(level));
    spdlog::set_default_logger(logger);
}

long idle_from_environment() {
    if (const char* text = std::getenv("COURIER_REGISTRY_IDLE_MS"); text && *text) {
        char* end = nullptr;
        long value = std::strtol(text, &end, 10);
        if (end && *end == '\0' && value >= 0) return value;
    }
    return 10000;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"courierd: the per-host courier registry (started on demand by nodes)"};
    std::string runtime_dir;
    long idle_exit_ms = -1;
    bool foreground = false;
    bool use_syslog = false;
    std::string log_level = "info";
    app.add_option("--runtime-dir", runtime_dir,
                   "directory of the registry socket and lock (default: $COURIER_RUNTIME_DIR, "
                   "$XDG_RUNTIME_DIR/courier, /tmp/courier-$UID)");
    app.add_option("--idle-exit", idle_exit_ms,
                   "exit after this many ms with no node connected; 0: never (default: "
                   "$COURIER_REGISTRY_IDLE_MS, else 10000)")
        ->check(CLI::NonNegativeNumber);
    app.add_flag("--foreground", foreground,
                 "stay attached and log to stderr (default: detach once serving, log to syslog)");
    app.add_flag("--syslog", use_syslog,
                 "log to syslog even in the foreground (nodes start courierd this way)");
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    CLI11_PARSE(app, argc, argv);

    spdlog::set_default_logger(spdlog::stderr_color_mt("courierd"));
    spdlog::set_level(spdlog::level::from_str(log_level));
    ::signal(SIGPIPE, SIG_IGN);

    using courier::registry::DaemonLock;
    using courier::registry::RegistryServer;
    using courier::registry::ServerOptions;
    ServerOptions options;
    options.runtime_dir =
        runtime_dir.empty() ? courier::default_runtime_dir() : std::filesystem::path(runtime_dir);
    options.idle_exit =
        std::chrono::milliseconds(idle_exit_ms >= 0 ? idle_exit_ms : idle_from_environment());

    try {
        courier::ensure_runtime_dir(options.runtime_dir);
        auto lock = DaemonLock::try_acquire(options.runtime_dir);
        if (!lock) {
            // Another courierd serves this directory (two nodes raced to start one): fine.
            spdlog::debug("another courierd holds {}",
                          courier::registry_lock_path(options.runtime_dir).string());
            return 0;
        }
        if (foreground && use_syslog) log_to_syslog(log_level);
        RegistryServer server(options, std::move(*lock));
        if (!foreground) {
            // The parent must not run the server's destructor: it would unlink the socket.
            if (!detach()) ::_exit(0);
            log_to_syslog(log_level);
        }
        server.run();
        return 0;
    } catch (const std::exception& e) {
        spdlog::error("courierd: {}", e.what());
        return 1;
    }
}
