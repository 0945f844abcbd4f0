#include "registry/registry_server.hpp"

#include "reactor.hpp"
#include "registry/etcd_federation.hpp"
#include "registry/name_table.hpp"
#include "registry/orphan_sweep.hpp"
#include "registry/placements.hpp"
#include "registry/registry_protocol.hpp"
#include "registry/server_connection.hpp"

#include <courier/framework/runtime_dir.hpp>
#include <courier/log.hpp>
#include <courier/posix_call.hpp>
#include <courier/transports/adopted_listener.hpp>
#include <courier/transports/endpoint.hpp>
#include <courier/transports/transport.hpp>

#include <spdlog/spdlog.h>

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace courier::registry {

namespace {

using Clock = std::chrono::steady_clock;

/// How long until `when`, rounded up so a timer set for it fires no earlier.
std::chrono::milliseconds until(Clock::time_point when) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(when - Clock::now());
    return std::max(left, std::chrono::milliseconds{0});
}

}  // namespace

/// The socket, the signals and the connections. Built on the caller's thread; while run()
/// serves, every member below `reactor` is touched on the reactor thread only.
struct RegistryServer::Impl final : Outbox {
    ServerOptions options;
    DaemonLock lock;
    std::filesystem::path socket_path;
    std::unique_ptr<Listener> listener;
    std::unique_ptr<Listener> host_listener;  ///< the federation's, when it listens
    bool own_socket_file = false;             ///< false when systemd made it (for the log)
    Fd signals;  ///< a signalfd for SIGTERM and SIGINT, when options.handle_signals
    sigset_t old_mask{};

    // ---- set by run() while it serves ----
    detail::Reactor* reactor = nullptr;
    NameTable* table = nullptr;
    OrphanSweep* sweep = nullptr;
    HostDialer* dialer = nullptr;
    ConnectionId next_id = 1;
    std::map<ConnectionId, ServerConnection> connections;
    std::size_t refused_clients = 0;  ///< past max_clients, since the last log line
    Clock::time_point refusal_logged{};
    std::vector<std::pair<ConnectionId, std::string>> doomed;  ///< closed after the event
    Clock::time_point last_activity = Clock::now();
    bool idle_check_pending = false;
    bool stopping = false;

    /// How run() learns that serving is over, and why.
    std::mutex finished_mutex;
    std::condition_variable finished;
    std::optional<std::string> stop_reason;

    Impl(ServerOptions o, DaemonLock l) : options(std::move(o)), lock(std::move(l)) {}

    // ---- setup and shutdown, on the caller's thread ----

    /// Serves on `listening` when it is a socket (systemd's), else binds our own.
    void bind(Fd listening) {
        socket_path = registry_socket_path(options.runtime_dir);
        if (listening) {
            listener = adopt_local_socket_listener(std::move(listening), socket_path.string());
        } else {
            bind_own();
        }
        block_signals();
        log().info("courierd {} serving {}{} (idle exit {} ms)", ::getpid(), socket_path.string(),
                   own_socket_file ? "" : ", a socket passed by systemd",
                   options.idle_exit.count());
        const auto& federation = options.federation;
        if (federation.listen) {
            host_listener =
                TransportRegistry::builtin().listen(*federation.listen, federation.listen_options);
            log().info("listening for the courierds of other hosts on {}",
                       host_listener->endpoint().to_string());
        }
    }

    void bind_own() {
        // We hold the lock, so any socket file here belongs to a courierd that is gone.
        if (COURIER_SYSCALL(::unlink, socket_path.c_str()).ok())
            log().info("replaced the stale socket {}", socket_path.string());
        const mode_t old_umask = ::umask(0077);  // umask cannot fail
        try {
            listener =
                TransportRegistry::builtin().listen(local_socket_endpoint(socket_path.string()));
        } catch (...) {
            ::umask(old_umask);
            throw;
        }
        ::umask(old_umask);
        own_socket_file = true;
        // Already owner-only through the umask; the mode says so to whoever looks.
        (void)COURIER_SYSCALL(::chmod, socket_path.c_str(), mode_t{0600});
    }

    void block_signals() {
        if (options.handle_signals) {
            // Blocked here, before the reactor thread exists, so that it inherits the mask
            // and the signals wait in the signalfd instead of killing us.
            sigset_t mask;
            sigemptyset(&mask);
            sigaddset(&mask, SIGTERM);
            sigaddset(&mask, SIGINT);
            COURIER_SYSCALL(::sigprocmask, SIG_BLOCK, &mask, &old_mask)
                .value_or_throw("block SIGTERM and SIGINT");
            signals = Fd(
                static_cast<int>(COURIER_SYSCALL(::signalfd, -1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)
                                     .value_or_throw()));
        }
    }

    void run() {
        // Made here, not in the constructor: courierd forks to detach after binding, and a
        // thread does not survive fork.
        detail::Reactor serving;
        const auto& federation = options.federation;
        NameTable names(*this, serving, snapshot_path(options.runtime_dir), federation.host,
                        federation.beat);
        OrphanSweep orphans(serving, options.runtime_dir);
        Placements placing(serving,
                           {names.host(), federation.placeable, federation.placed_environment});
        names.serve_placements(&placing, listening());
        reactor = &serving;
        table = &names;
        sweep = &orphans;
        std::optional<HostDialer> dialing;
        std::optional<EtcdFederation> cluster;
        try {
            arm_idle_check();
            if (signals) serving.add(signals.get(), [this] { on_signal(); });
            serving.add(listener->poll_fd(),
                        [this] { accept_all(*listener, ServerConnection::Kind::local); });
            if (host_listener) {
                serving.add(host_listener->poll_fd(), [this] {
                    accept_all(*host_listener, ServerConnection::Kind::from_host);
                });
            }
            if (host_listener || !federation.peers.empty()) arm_beat();
            if (!federation.peers.empty()) {
                dialing.emplace(federation.peers, federation.redial,
                                [this](std::size_t peer, std::unique_ptr<Link> link) {
                                    hand_over(peer, std::move(link));
                                });
                dialer = &*dialing;
            }
            if (!federation.etcd.empty())
                EtcdFederation::start(cluster, EtcdFederation::options_of(federation, listening()),
                                      names, serving);
            if (options.on_serving) options.on_serving();
        } catch (...) {
            dialing.reset();  // before the reactor it hands links to
            dialer = nullptr;
            serving.stop();
            cluster.reset();  // after the reactor: it is the table's, on the reactor thread
            shutdown("cannot serve");
            sweep = nullptr;
            table = nullptr;
            reactor = nullptr;
            throw;
        }
        std::string reason;
        {
            std::unique_lock held(finished_mutex);
            finished.wait(held, [this] { return stop_reason.has_value(); });
            reason = *stop_reason;
        }
        if (options.on_stopping) options.on_stopping();
        // Stopped first: a link it dials now would go to a reactor that is gone.
        dialing.reset();
        serving.stop();   // joins the reactor thread: from here on all is ours
        cluster.reset();  // revokes this host's lease in etcd: its keys go at once
        dialer = nullptr;
        orphans.finish();
        shutdown(reason);
        sweep = nullptr;
        table = nullptr;
        reactor = nullptr;
    }

    /// Where other hosts reach this courierd; empty: nowhere.
    std::string listening() const {
        return host_listener ? host_listener->endpoint().to_string() : std::string();
    }

    void shutdown(const std::string& reason) {
        log().info("courierd {} exiting: {}", ::getpid(), reason);
        connections.clear();  // closes every link
        // The socket first, then the lock file, still holding the lock: a courierd that
        // starts now either fails to lock (and the client that started it retries) or
        // locks a fresh file and binds a fresh socket that nothing of ours will unlink.
        // The listener removes the socket file only if it bound it and the file is still the
        // one it bound: not systemd's, nor one that replaced ours (a socket unit started
        // while we ran).
        host_listener.reset();
        listener.reset();
        lock.remove();
        if (options.handle_signals)
            (void)COURIER_SYSCALL(::sigprocmask, SIG_SETMASK, &old_mask, nullptr);
    }

    // ---- the loop: callbacks on the reactor thread ----

    /// Ends serving: run() wakes, stops the reactor and cleans up.
    void finish(std::string reason) {
        if (stopping) return;
        stopping = true;
        {
            std::lock_guard held(finished_mutex);
            stop_reason = std::move(reason);
        }
        finished.notify_one();
    }

    void on_signal() {
        signalfd_siginfo info{};
        auto got = COURIER_SYSCALL(::read, signals.get(), &info, sizeof info);
        if (got.ok() && got.value == static_cast<long>(sizeof info))
            finish(std::string("signal ") + ::strsignal(static_cast<int>(info.ssi_signo)));
    }

    /// Checks for idle exit when the last activity is an idle period old, unless a check
    /// is already on its way. A check that finds activity since it was set, or a node,
    /// sets the next.
    void arm_idle_check() {
        if (options.idle_exit.count() <= 0 || idle_check_pending) return;
        idle_check_pending = true;
        reactor->after(until(last_activity + options.idle_exit), [this] {
            idle_check_pending = false;
            if (stopping) return;
            // Nodes (connected, or held for ones that may connect again): look again an
            // idle period later. Never giving up means no way for nodes to go (a connection
            // closing, a holder found dead) can leave courierd up for good.
            if (table->has_nodes()) {
                last_activity = Clock::now();
                arm_idle_check();
                return;
            }
            if (Clock::now() >= last_activity + options.idle_exit)
                finish("idle for " + std::to_string(options.idle_exit.count()) + " ms");
            else
                arm_idle_check();
        });
    }

    void accept_all(Listener& from, ServerConnection::Kind kind) {
        while (!stopping) {
            std::unique_ptr<Link> link;
            try {
                link = from.accept();
            } catch (const std::exception& e) {
                log().warn("accept failed: {}", e.what());
                return;
            }
            if (!link) return;
            if (connections.size() >= options.max_clients) {
                refuse_client(*link);
                continue;  // closes it
            }
            ServerConnection c;
            c.kind = kind;
            c.link = std::move(link);
            const auto id = add(std::move(c));
            if (id && kind == ServerConnection::Kind::from_host) table->from_host(*id);
            if (id && kind == ServerConnection::Kind::local) last_activity = Clock::now();
        }
    }

    /// Serves connection `c` from now on; its id, or nullopt when it cannot be watched.
    std::optional<ConnectionId> add(ServerConnection c) {
        const ConnectionId id = next_id++;
        c.peer = c.link->peer();
        c.pid = c.kind == ServerConnection::Kind::local ? peer_pid_of(*c.link) : 0;
        try {
            reactor->add(c.link->poll_fd(), [this, id] { serve(id); });
        } catch (const std::exception& e) {
            log().warn("cannot serve connection from {}: {}", c.peer, e.what());
            return std::nullopt;
        }
        log().debug("connection #{} from {}", id, c.peer);
        connections.emplace(id, std::move(c));
        return id;
    }

    /// The dialer's thread: a link to peer `peer` goes to the reactor thread.
    void hand_over(std::size_t peer, std::unique_ptr<Link> link) {
        // Timers take copyable functions.
        auto carried = std::make_shared<std::unique_ptr<Link>>(std::move(link));
        reactor->after(std::chrono::milliseconds{0}, [this, peer, carried] {
            ServerConnection c;
            c.kind = ServerConnection::Kind::to_host;
            c.peer_index = peer;
            c.link = std::move(*carried);
            auto id = stopping ? std::nullopt : add(std::move(c));
            if (!id) {
                if (dialer) dialer->lost(peer);
                return;
            }
            table->dialed(*id, peer, options.federation.peers[peer].endpoint.to_string());
            close_doomed();
        });
    }

    /// Every beat: tells the subscribed hosts we are alive, and takes as gone the hosts
    /// we dialed that have been silent for host_down.
    void arm_beat() {
        const auto& federation = options.federation;
        reactor->after(federation.beat, [this] {
            if (stopping) return;
            table->beat();
            const auto since = Clock::now() - options.federation.host_down;
            for (auto id : table->silent_hosts(since))
                doom(id,
                     "silent for " + std::to_string(options.federation.host_down.count()) + " ms");
            close_doomed();
            arm_beat();
        });
    }

    /// A connection past max_clients: logged once a second at most, with a count.
    void refuse_client(const Link& link) {
        ++refused_clients;
        if (Clock::now() - refusal_logged < std::chrono::seconds(1)) return;
        refusal_logged = Clock::now();
        log().warn(
            "refused {} connection(s), the last from {}: {} clients are connected "
            "already (the most courierd serves)",
            refused_clients, link.peer(), options.max_clients);
        refused_clients = 0;
    }

    /// Reads what connection `id` sent and hands each frame to the table.
    void serve(ConnectionId id) {
        if (stopping) return;
        auto it = connections.find(id);
        if (it == connections.end()) return;
        ServerConnection& c = it->second;
        std::vector<Frame> frames;
        ReceiveStatus status;
        try {
            status = c.link->receive(frames);
        } catch (const std::exception& e) {
            status = {ReceiveStatus::State::failed, e.what()};
        }
        // Any request postpones idle exit; another host's frames do not keep us up.
        if (!frames.empty() && c.kind == ServerConnection::Kind::local)
            last_activity = Clock::now();
        for (const auto& frame : frames) {
            try {
                table->handle(id, frame.data());
            } catch (const ProtocolViolation& v) {
                log().warn("closing connection {} ({}): {}", table->describe(id), c.peer, v.reason);
                doom(id, "protocol violation");
            } catch (const std::exception& e) {
                log().warn("closing connection {} ({}): {}", table->describe(id), c.peer, e.what());
                doom(id, "error");
            }
            if (is_doomed(id)) break;
        }
        if (!is_doomed(id) && status.state == ReceiveStatus::State::closed) {
            doom(id, "connection closed");
        } else if (!is_doomed(id) && status.state == ReceiveStatus::State::failed) {
            log().warn("closing connection {} ({}): {}", table->describe(id), c.peer,
                       status.reason);
            doom(id, "connection failed");
        }
        close_doomed();
    }

    /// Outbox: the table's answers and notices. Never waits for a client: what its socket
    /// cannot take now waits in its unsent queue, up to max_unread_bytes; a client past
    /// that does not read, and is closed after the event.
    std::int64_t peer_pid(ConnectionId id) const override {
        auto it = connections.find(id);
        return it == connections.end() ? 0 : it->second.pid;
    }

    void send(ConnectionId to, std::span<const std::byte> frame) override {
        auto it = connections.find(to);
        if (it == connections.end() || is_doomed(to)) return;
        ServerConnection& c = it->second;
        if (!c.queue(frame, options.max_unread_bytes)) {
            log().warn(
                "closing connection {} ({}): it leaves its answers unread ({} bytes "
                "waiting beyond what its socket holds)",
                table->describe(to), c.peer, c.waiting() + frame.size());
            doom(to, "does not read");
            return;
        }
        pump(to, c);
    }

    /// Writes what connection `id`'s socket takes now; if some is left, looks again soon.
    void pump(ConnectionId id, ServerConnection& c) {
        try {
            if (c.pump()) return;
        } catch (const std::exception& e) {
            log().warn("cannot send to connection {}: {}", table->describe(id), e.what());
            doom(id, "send failed");
            return;
        }
        if (c.pump_due) return;
        // The reactor watches reads only: a short timer stands in for "writable".
        c.pump_due = true;
        reactor->after(std::chrono::milliseconds(5), [this, id] {
            auto it = connections.find(id);
            if (it == connections.end() || is_doomed(id)) return;
            it->second.pump_due = false;
            pump(id, it->second);
            close_doomed();
        });
    }

    // ---- closing: after the event, since a handler may still hold the connection ----

    void doom(ConnectionId id, std::string reason) {
        if (!is_doomed(id)) doomed.emplace_back(id, std::move(reason));
    }
    bool is_doomed(ConnectionId id) const {
        return std::any_of(doomed.begin(), doomed.end(),
                           [id](const auto& d) { return d.first == id; });
    }

    void close_doomed() {
        // Closing one connection notifies watchers, which may doom others; loop until done.
        while (!doomed.empty()) {
            auto [id, reason] = std::move(doomed.front());
            doomed.erase(doomed.begin());
            close_connection(id, reason);
        }
    }

    void close_connection(ConnectionId id, const std::string& reason) {
        auto it = connections.find(id);
        if (it == connections.end()) return;
        reactor->remove(it->second.link->poll_fd());
        const bool dialed = it->second.kind == ServerConnection::Kind::to_host;
        const std::size_t peer = it->second.peer_index;
        connections.erase(it);  // closes the link
        if (dialed && dialer) dialer->lost(peer);
        const bool had_nodes = table->has_nodes();
        // A node's connection closing is how courierd learns first that it died.
        if (auto node = table->node_process(id))
            sweep->node_left(static_cast<pid_t>(node->pid), node->endpoints);
        table->forget(id, reason);
        if (had_nodes && !table->has_nodes()) {
            last_activity = Clock::now();
            arm_idle_check();
        }
    }
};

RegistryServer::RegistryServer(ServerOptions options, DaemonLock lock)
    : RegistryServer(std::move(options), std::move(lock), Fd()) {}

RegistryServer::RegistryServer(ServerOptions options, DaemonLock lock, Fd listening)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(lock))) {
    try {
        impl_->bind(std::move(listening));
    } catch (...) {
        impl_->listener.reset();
        impl_->lock.remove();
        throw;
    }
}

RegistryServer::~RegistryServer() = default;

void RegistryServer::run() {
    impl_->run();
}

}  // namespace courier::registry
