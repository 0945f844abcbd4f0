#pragma once
/// @file
/// The per-host registry daemon's engine, private to courierd: the socket nodes connect
/// to and the loop that serves them, on a Reactor. What each request does is the
/// NameTable's (name_table.hpp); the lock that makes this courierd the only one in its
/// directory is DaemonLock's (daemon_lock.hpp).

#include "registry/daemon_lock.hpp"
#include "registry/host_dialer.hpp"

#include <courier/fd.hpp>
#include <courier/framework/config.hpp>
#include <courier/transports/endpoint.hpp>
#include <courier/transports/transport_options.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace courier::registry {

/// The federation of registries across hosts (docs/multihost.md).
struct FederationOptions {
    std::string host;  ///< this host's name in name@host; empty: the kernel's host name
    /// Where the other hosts' courierds reach this one (a transport that crosses hosts,
    /// cookie-proved); none: this one listens for no host.
    std::optional<Endpoint> listen;
    TransportOptions listen_options;
    /// The peer hosts' courierds, dialed and subscribed to; a plain name not held here
    /// resolves on the first of them that holds it.
    std::vector<HostDialer::Peer> peers;
    std::chrono::milliseconds beat{500};        ///< how often subscribers hear from us
    std::chrono::milliseconds host_down{2000};  ///< a peer silent this long is gone
    std::chrono::milliseconds redial{500};      ///< pause between tries to reach a peer
    /// etcd mode (instead of peers): the endpoints of etcd ("http://host:port"), and the
    /// prefix of courier's keys there. This host's lease lasts host_down, in whole
    /// seconds, 2 at least.
    std::vector<std::string> etcd;
    std::string etcd_prefix = "/courier";
    /// The programs other hosts may start here (placement_protocol.hpp), and what each
    /// gets in its environment (how it finds this courierd and its config).
    std::map<std::string, RegistrySettings::Placeable, std::less<>> placeable;
    std::vector<std::string> placed_environment;
};

struct ServerOptions {
    std::filesystem::path runtime_dir;
    /// Exit after this long with no node connected; zero: never.
    std::chrono::milliseconds idle_exit{10000};
    /// Stop cleanly on SIGTERM and SIGINT (the server blocks them and reads a signalfd).
    bool handle_signals = true;
    /// Connections served at once (all of one user: the socket refuses others); more are
    /// closed as they come, with a log line.
    std::size_t max_clients = 1024;
    /// Answers and notices a client may leave unread beyond what its socket holds; a
    /// client past it does not read, and is disconnected, never waited for.
    std::size_t max_unread_bytes = std::size_t{1} << 20;
    /// Called on the caller's thread once the socket is watched (connections are
    /// accepted), and once serving ends, before the connections close: how courierd tells
    /// systemd READY=1 and STOPPING=1.
    std::function<void()> on_serving;
    std::function<void()> on_stopping;
    FederationOptions federation;
};

/// Serves the registry protocol (registry_protocol.hpp) on `<dir>/registry.sock`, and the
/// hosts' protocol (host_protocol.hpp) on the federation's listener and links.
class RegistryServer {
  public:
    /// Binds the socket, replacing a stale one; `lock` proves we may. Starts no thread,
    /// so the caller may fork (courierd detaches) before run(). Throws
    /// std::system_error when the socket cannot be bound.
    RegistryServer(ServerOptions options, DaemonLock lock);
    /// Serves on `listening`, a socket another process bound at `<dir>/registry.sock` and
    /// listens on (systemd's socket activation), instead of binding one. Its file stays
    /// its creator's: the server never removes it.
    RegistryServer(ServerOptions options, DaemonLock lock, Fd listening);
    ~RegistryServer();
    RegistryServer(const RegistryServer&) = delete;
    RegistryServer& operator=(const RegistryServer&) = delete;

    /// Serves, on a reactor thread, until idle exit or a stop signal; then closes every
    /// connection, removes the socket (if it bound it) and then the lock file (still
    /// holding the lock), and returns.
    void run();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace courier::registry
