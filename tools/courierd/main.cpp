/// courierd: the per-host registry daemon. Nodes start it on demand (RegistryClient);
/// it can also be run by hand. docs/registry.md describes its options and lifecycle.

#include "config_text.hpp"
#include "courierd/log_target.hpp"
#include "courierd/systemd.hpp"
#include "registry/registry_server.hpp"

#include <courier/framework/config.hpp>
#include <courier/framework/runtime_dir.hpp>
#include <courier/log.hpp>
#include <courier/posix_call.hpp>
#include <courier/version.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <optional>
#include <stdexcept>
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

/// The federation's part of the config (docs/multihost.md), as the server takes it.
courier::registry::FederationOptions federation_of(const courier::Config& config) {
    using namespace std::chrono_literals;
    const auto& registry = config.registry;
    courier::registry::FederationOptions federation;
    federation.host = registry.host;
    auto options_of = [&](const courier::Endpoint& endpoint) {
        return config.settings(endpoint.scheme).options();
    };
    if (!registry.listen.empty()) {
        federation.listen = courier::Endpoint::parse(registry.listen);
        federation.listen_options = options_of(*federation.listen);
    }
    for (const auto& peer : registry.peers) {
        auto endpoint = courier::Endpoint::parse(peer);
        federation.peers.push_back({endpoint, options_of(endpoint)});
    }
    // A placed program is a node of this host: it reads the config courierd read.
    federation.placeable = registry.placeable;
    if (!federation.placeable.empty())
        federation.placed_environment.push_back(std::string(courier::detail::config_text_variable) +
                                                "=" + courier::detail::inherited_toml(config));
    if (registry.mode == "etcd") {
        federation.etcd = registry.etcd;
        if (!registry.etcd_prefix.empty()) federation.etcd_prefix = registry.etcd_prefix;
    }
    federation.beat = registry.heartbeat.value_or(500ms);
    federation.redial = registry.redial.value_or(500ms);
    federation.host_down = registry.host_down.value_or(4 * federation.beat);
    if (federation.host_down <= federation.beat)
        throw std::runtime_error("registry.host_down_ms (" +
                                 std::to_string(federation.host_down.count()) +
                                 ") must be longer than registry.heartbeat_ms (" +
                                 std::to_string(federation.beat.count()) + ")");
    return federation;
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
    std::string log_file;
    std::string log_level = "info";
    std::string config_file;
    app.add_option("--runtime-dir", runtime_dir,
                   "directory of the registry socket and lock (default: $COURIER_RUNTIME_DIR, "
                   "$XDG_RUNTIME_DIR/courier, /tmp/courier-$UID)");
    app.add_option("--idle-exit", idle_exit_ms,
                   "exit after this many ms with no node connected; 0: never (default: "
                   "$COURIER_REGISTRY_IDLE_MS, else 10000)")
        ->check(CLI::NonNegativeNumber);
    app.add_flag("--foreground", foreground,
                 "stay attached and log to stderr (default: detach once serving, log to syslog, "
                 "or to courierd.log in the runtime directory when no syslog listens)");
    app.add_flag("--syslog", use_syslog,
                 "log to syslog (or courierd.log when no syslog listens) even in the foreground; "
                 "nodes start courierd this way");
    app.add_option("--log-file", log_file,
                   "log to this file instead, rotated at 1 MiB with one older file kept");
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    app.add_option("--config", config_file,
                   "the courier config whose [registry] table sets this host's federation "
                   "(default: $COURIER_CONFIG, as nodes read it; docs/multihost.md)");
    app.set_version_flag("--version", "courierd " COURIER_VERSION);
    CLI11_PARSE(app, argc, argv);

    const auto level = spdlog::level::from_str(log_level);
    spdlog::set_default_logger(spdlog::stderr_color_mt("courierd"));
    courier::set_logger(spdlog::default_logger());
    spdlog::set_level(level);
    ::signal(SIGPIPE, SIG_IGN);
    // Everything courierd creates (lock, name table, a log file and its rotations) is
    // the user's alone.
    ::umask(0077);

    using courier::registry::DaemonLock;
    using courier::registry::RegistryServer;
    using courier::registry::ServerOptions;
    ServerOptions options;
    options.runtime_dir =
        runtime_dir.empty() ? courier::default_runtime_dir() : std::filesystem::path(runtime_dir);
    options.idle_exit =
        std::chrono::milliseconds(idle_exit_ms >= 0 ? idle_exit_ms : idle_from_environment());

    try {
        options.federation = federation_of(courier::Config::from_environment(config_file));
        options.federation.placed_environment.push_back("COURIER_RUNTIME_DIR=" +
                                                        options.runtime_dir.string());
        courier::ensure_runtime_dir(options.runtime_dir);
        // Taken before the lock, so that LISTEN_FDS is ours to read and no systemd socket
        // leaks into a courierd that gives way.
        auto activated =
            courierd::socket_from_systemd(courier::registry_socket_path(options.runtime_dir));
        auto lock = DaemonLock::try_acquire(options.runtime_dir);
        if (!lock) {
            if (activated) {
                // systemd would start us again and again for a socket nobody serves.
                throw std::runtime_error(
                    "another courierd, started without systemd, serves " +
                    options.runtime_dir.string() +
                    "; stop it (or let it exit on idle), then start courierd.socket again");
            }
            // Another courierd serves this directory (two nodes raced to start one): fine.
            spdlog::debug("another courierd holds {}",
                          courier::registry_lock_path(options.runtime_dir).string());
            return 0;
        }
        auto target = courierd::choose_log_target(log_file, foreground || activated, use_syslog,
                                                  options.runtime_dir);
        courierd::log_to(target, level);
        options.on_serving = [] { courierd::notify_systemd("READY=1"); };
        options.on_stopping = [] { courierd::notify_systemd("STOPPING=1"); };
        std::optional<RegistryServer> server;
        if (activated)
            server.emplace(options, std::move(*lock), std::move(*activated));
        else
            server.emplace(options, std::move(*lock));
        // Under systemd the service's main process must stay: it never detaches.
        if (!foreground && !activated) {
            // The parent must not run the server's destructor: it would unlink the socket.
            if (!detach()) ::_exit(0);
            // Our stderr is /dev/null now, even if it was the journal.
            if (target.kind == courierd::LogTarget::Kind::stderr_stream ||
                target.kind == courierd::LogTarget::Kind::journal) {
                target = courierd::choose_log_target(log_file, false, true, options.runtime_dir);
                courierd::log_to(target, level);
            }
        }
        if (target.kind == courierd::LogTarget::Kind::file && log_file.empty())
            spdlog::info("courierd {}: {}, so logging to {}", ::getpid(), target.why,
                         target.file.string());
        else
            spdlog::debug("courierd {} logs here: {}", ::getpid(), target.why);
        server->run();
        return 0;
    } catch (const std::exception& e) {
        spdlog::error("courierd: {}", e.what());
        return 1;
    }
}
