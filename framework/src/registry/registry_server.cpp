#include "registry/registry_server.hpp"

#include "registry/registry_protocol.hpp"

#include <courier/framework/runtime_dir.hpp>
#include <courier/serialization/codec.hpp>
#include <courier/transports/posix_call.hpp>
#include <courier/transports/transport.hpp>

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <vector>

namespace courier::registry {

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void throw_sys(const SysResult& r, const std::string& what) {
    throw std::system_error(r.error, std::generic_category(), what);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// DaemonLock

std::optional<DaemonLock> DaemonLock::try_acquire(const std::filesystem::path& runtime_dir) {
    auto path = registry_lock_path(runtime_dir);
    // A courierd exiting on idle unlinks the file it holds; if we opened that file just
    // before, our lock on it means nothing, so check that the path still names our inode.
    for (int attempt = 0; attempt < 100; ++attempt) {
        auto opened =
            COURIER_SYSCALL(::open, path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, mode_t{0600});
        if (!opened.ok()) throw_sys(opened, "cannot open " + path.string());
        Fd fd(static_cast<int>(opened.value));
        auto locked = COURIER_SYSCALL(::flock, fd.get(), LOCK_EX | LOCK_NB);
        if (!locked.ok()) {
            if (locked.error == EWOULDBLOCK) return std::nullopt;
            throw_sys(locked, "cannot lock " + path.string());
        }
        struct stat held {};
        struct stat named {};
        if (::fstat(fd.get(), &held) != 0) continue;
        if (::stat(path.c_str(), &named) != 0) continue;  // unlinked under us: retry
        if (held.st_ino != named.st_ino || held.st_dev != named.st_dev) continue;

        std::string pid = std::to_string(::getpid()) + "\n";
        if (::ftruncate(fd.get(), 0) == 0) {
            [[maybe_unused]] auto w =
                COURIER_SYSCALL(::pwrite, fd.get(), pid.data(), pid.size(), off_t{0});
        }
        return DaemonLock(std::move(path), std::move(fd));
    }
    throw std::system_error(EAGAIN, std::generic_category(),
                            "cannot lock " + path.string() + ": it keeps being replaced");
}

void DaemonLock::remove() noexcept {
    if (!fd_) return;
    ::unlink(path_.c_str());
    fd_.reset();
}

// ---------------------------------------------------------------------------------------
// RegistryServer

namespace {

constexpr std::uint64_t listener_key = 1;
constexpr std::uint64_t timer_key = 2;
constexpr std::uint64_t signal_key = 3;
constexpr std::uint64_t first_connection_key = 16;

/// One connection: a node once it sent RegisterNode, else an anonymous client (the CLI).
struct Connection {
    std::uint64_t id = 0;
    std::unique_ptr<Link> link;
    std::string peer;      ///< for logs
    std::string reply_to;  ///< the sender name of its last request
    std::string node;      ///< empty until RegisterNode
    std::int64_t pid = 0;
    std::vector<std::string> endpoints;
    std::set<std::string> names;
    std::set<std::string> watching;
};

/// A Lookup waiting for its name to be registered.
struct PendingLookup {
    std::uint64_t connection = 0;
    std::uint64_t correlation = 0;
    std::string name;
    Clock::time_point deadline;
};

/// Thrown by a handler to drop a connection that broke the protocol.
struct ProtocolViolation {
    std::string reason;
};

}  // namespace

struct RegistryServer::Impl {
    ServerOptions options;
    DaemonLock lock;
    std::filesystem::path socket_path;
    std::unique_ptr<Listener> listener;
    Fd epoll;
    Fd timer;
    Fd signals;
    sigset_t old_mask{};
    bool stop = false;
    std::string stop_reason;

    std::uint64_t next_id = first_connection_key;
    std::map<std::uint64_t, Connection> connections;
    std::map<std::string, std::uint64_t> nodes;  ///< node name -> connection
    std::map<std::string, std::uint64_t> names;  ///< actor name -> connection
    std::map<std::string, std::set<std::uint64_t>> watchers;
    std::vector<PendingLookup> lookups;
    std::vector<std::pair<std::uint64_t, std::string>> doomed;  ///< to close after this event
    Clock::time_point last_activity = Clock::now();

    Impl(ServerOptions o, DaemonLock l) : options(std::move(o)), lock(std::move(l)) {}

    // -- setup ----------------------------------------------------------------------------

    void watch_fd(int fd, std::uint64_t key) {
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u64 = key;
        auto r = COURIER_SYSCALL(::epoll_ctl, epoll.get(), EPOLL_CTL_ADD, fd, &event);
        if (!r.ok()) throw_sys(r, "epoll_ctl");
    }

    void start() {
        socket_path = registry_socket_path(options.runtime_dir);
        // We hold the lock, so any socket file here belongs to a courierd that is gone.
        if (::unlink(socket_path.c_str()) == 0)
            spdlog::info("replaced the stale socket {}", socket_path.string());
        mode_t old_umask = ::umask(0077);
        try {
            listener = TransportRegistry::builtin().listen(Endpoint{"unix", socket_path.string()});
        } catch (...) {
            ::umask(old_umask);
            throw;
        }
        ::umask(old_umask);
        ::chmod(socket_path.c_str(), 0600);

        auto ep = COURIER_SYSCALL(::epoll_create1, EPOLL_CLOEXEC);
        if (!ep.ok()) throw_sys(ep, "epoll_create1");
        epoll = Fd(static_cast<int>(ep.value));
        auto tf = COURIER_SYSCALL(::timerfd_create, CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (!tf.ok()) throw_sys(tf, "timerfd_create");
        timer = Fd(static_cast<int>(tf.value));
        watch_fd(listener->poll_fd(), listener_key);
        watch_fd(timer.get(), timer_key);

        if (options.handle_signals) {
            sigset_t mask;
            sigemptyset(&mask);
            sigaddset(&mask, SIGTERM);
            sigaddset(&mask, SIGINT);
            ::sigprocmask(SIG_BLOCK, &mask, &old_mask);
            auto sf = COURIER_SYSCALL(::signalfd, -1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
            if (!sf.ok()) throw_sys(sf, "signalfd");
            signals = Fd(static_cast<int>(sf.value));
            watch_fd(signals.get(), signal_key);
        }
        spdlog::info("courierd {} serving {} (idle exit {} ms)", ::getpid(), socket_path.string(),
                     options.idle_exit.count());
    }

    // -- the loop -------------------------------------------------------------------------

    std::optional<Clock::time_point> idle_deadline() const {
        if (options.idle_exit.count() <= 0 || !nodes.empty()) return std::nullopt;
        return last_activity + options.idle_exit;
    }

    void arm_timer() {
        std::optional<Clock::time_point> next = idle_deadline();
        for (const auto& lookup : lookups)
            if (!next || lookup.deadline < *next) next = lookup.deadline;
        itimerspec spec{};
        if (next) {
            auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(next->time_since_epoch())
                          .count();
            if (ns <= 0) ns = 1;
            spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
            spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
            if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
        }
        // steady_clock is CLOCK_MONOTONIC on Linux, so its epoch matches the timer's.
        ::timerfd_settime(timer.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
    }

    void run() {
        std::array<epoll_event, 64> events{};
        while (!stop) {
            arm_timer();
            int n = ::epoll_wait(epoll.get(), events.data(), static_cast<int>(events.size()), -1);
            if (n < 0) {
                if (errno == EINTR) continue;
                spdlog::error("epoll_wait failed: {}", std::strerror(errno));
                break;
            }
            for (int i = 0; i < n && !stop; ++i) {
                std::uint64_t key = events[static_cast<std::size_t>(i)].data.u64;
                if (key == listener_key) {
                    accept_all();
                } else if (key == timer_key) {
                    std::uint64_t expirations = 0;
                    [[maybe_unused]] auto r = ::read(timer.get(), &expirations, sizeof expirations);
                } else if (key == signal_key) {
                    signalfd_siginfo info{};
                    if (::read(signals.get(), &info, sizeof info) == sizeof info) {
                        stop = true;
                        stop_reason =
                            std::string("signal ") + ::strsignal(static_cast<int>(info.ssi_signo));
                    }
                } else {
                    serve(key);
                }
                close_doomed();
            }
            expire_lookups();
            close_doomed();
            if (auto deadline = idle_deadline(); deadline && Clock::now() >= *deadline) {
                stop = true;
                stop_reason = "idle for " + std::to_string(options.idle_exit.count()) + " ms";
            }
        }
        shutdown();
    }

    void shutdown() {
        spdlog::info("courierd {} exiting: {}", ::getpid(), stop_reason);
        connections.clear();  // closes every link
        // The socket first, then the lock file, still holding the lock: a courierd that
        // starts now either fails to lock (and the client that started it retries) or
        // locks a fresh file and binds a fresh socket that nothing of ours will unlink.
        listener.reset();
        ::unlink(socket_path.c_str());
        lock.remove();
        if (options.handle_signals) ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    }

    void accept_all() {
        for (;;) {
            std::unique_ptr<Link> link;
            try {
                link = listener->accept();
            } catch (const std::exception& e) {
                spdlog::warn("accept failed: {}", e.what());
                return;
            }
            if (!link) return;
            Connection c;
            c.id = next_id++;
            c.peer = link->peer();
            int fd = link->poll_fd();
            c.link = std::move(link);
            try {
                watch_fd(fd, c.id);
            } catch (const std::exception& e) {
                spdlog::warn("cannot serve connection from {}: {}", c.peer, e.what());
                continue;
            }
            spdlog::debug("connection {} from {}", c.id, c.peer);
            last_activity = Clock::now();
            connections.emplace(c.id, std::move(c));
        }
    }

    void serve(std::uint64_t id) {
        auto it = connections.find(id);
        if (it == connections.end()) return;
        std::vector<Frame> frames;
        ReceiveStatus status;
        try {
            status = it->second.link->receive(frames);
        } catch (const std::exception& e) {
            status = {ReceiveStatus::State::failed, e.what()};
        }
        for (auto& frame : frames) {
            try {
                handle(it->second, frame);
            } catch (const ProtocolViolation& v) {
                spdlog::warn("closing connection {} ({}): {}", describe(it->second),
                             it->second.peer, v.reason);
                doom(id, "protocol violation");
                return;
            } catch (const std::exception& e) {
                spdlog::warn("closing connection {} ({}): {}", describe(it->second),
                             it->second.peer, e.what());
                doom(id, "error");
                return;
            }
            if (is_doomed(id)) return;
        }
        if (status.state == ReceiveStatus::State::closed) {
            doom(id, "connection closed");
        } else if (status.state == ReceiveStatus::State::failed) {
            spdlog::warn("closing connection {} ({}): {}", describe(it->second), it->second.peer,
                         status.reason);
            doom(id, "connection failed");
        }
    }

    static std::string describe(const Connection& c) {
        // Appended, not "#" + std::to_string(...): GCC 12 warns falsely (-Wrestrict) there.
        std::string text = "#";
        text += std::to_string(c.id);
        if (c.node.empty()) return text;
        return text + " of node '" + c.node + "' (pid " + std::to_string(c.pid) + ")";
    }

    // -- closing --------------------------------------------------------------------------

    void doom(std::uint64_t id, std::string reason) {
        if (!is_doomed(id)) doomed.emplace_back(id, std::move(reason));
    }
    bool is_doomed(std::uint64_t id) const {
        return std::any_of(doomed.begin(), doomed.end(),
                           [id](const auto& d) { return d.first == id; });
    }

    void close_doomed() {
        // Closing one connection notifies watchers, which may doom others; loop until done.
        while (!doomed.empty()) {
            auto [id, reason] = doomed.front();
            doomed.erase(doomed.begin());
            close_connection(id, reason);
        }
    }

    void close_connection(std::uint64_t id, const std::string& reason) {
        auto it = connections.find(id);
        if (it == connections.end()) return;
        Connection c = std::move(it->second);
        connections.erase(it);
        ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, c.link->poll_fd(), nullptr);
        for (const auto& watched : c.watching) {
            auto w = watchers.find(watched);
            if (w == watchers.end()) continue;
            w->second.erase(id);
            if (w->second.empty()) watchers.erase(w);
        }
        std::erase_if(lookups, [id](const PendingLookup& l) { return l.connection == id; });
        if (!c.node.empty()) {
            spdlog::info("node '{}' (pid {}) left: {}", c.node, c.pid, reason);
            nodes.erase(c.node);
            for (const auto& name : c.names) {
                names.erase(name);
                name_down(name, "node exited");
            }
            if (nodes.empty()) last_activity = Clock::now();
        } else {
            spdlog::debug("connection #{} closed: {}", id, reason);
        }
    }

    // -- sending --------------------------------------------------------------------------

    template <class T>
    void send_to(std::uint64_t id, std::uint8_t flags, std::uint64_t correlation,
                 const T& message) {
        auto it = connections.find(id);
        if (it == connections.end() || is_doomed(id)) return;
        Connection& c = it->second;
        EnvelopeHeader header;
        header.flags = flags;
        header.correlation = correlation;
        header.sender = daemon_name;
        header.recipient = c.reply_to.empty() ? std::string_view("client") : c.reply_to;
        try {
            auto frame = encode_message(header, message);
            c.link->send(frame);
        } catch (const std::exception& e) {
            spdlog::warn("cannot send to connection {}: {}", describe(c), e.what());
            doom(id, "send failed");
        }
    }

    template <class T>
    void reply(Connection& c, std::uint64_t correlation, const T& message) {
        send_to(c.id, envelope_flags::reply, correlation, message);
    }

    void name_down(const std::string& name, const std::string& reason) {
        auto w = watchers.find(name);
        if (w == watchers.end()) return;
        std::set<std::uint64_t> who = std::move(w->second);
        watchers.erase(w);
        for (auto id : who) {
            auto it = connections.find(id);
            if (it == connections.end()) continue;
            it->second.watching.erase(name);
            send_to(id, 0, 0, NameDown{name, reason});
        }
    }

    // -- requests -------------------------------------------------------------------------

    template <class T>
    static T payload_as(const EnvelopeView& envelope) {
        auto value = decode_payload<T>(envelope.payload);
        if (!value)
            throw ProtocolViolation{std::string(type_name_of<T>()) + ": " + value.error().message};
        return std::move(*value);
    }

    void handle(Connection& c, const Frame& frame) {
        auto decoded = decode_envelope(frame.data());
        if (!decoded)
            throw ProtocolViolation{"bad frame (" + std::string(to_string(decoded.error().code)) +
                                    "): " + decoded.error().message};
        const EnvelopeView& envelope = *decoded;
        const EnvelopeHeader& h = envelope.header;
        if (h.recipient != daemon_name)
            throw ProtocolViolation{"message addressed to '" + std::string(h.recipient) +
                                    "', not to " + daemon_name};
        if ((h.flags & envelope_flags::request) == 0 || (h.flags & envelope_flags::reply) != 0 ||
            h.correlation == 0)
            throw ProtocolViolation{"message is not a request with a correlation id"};
        if (!h.sender.empty()) c.reply_to = std::string(h.sender);
        last_activity = Clock::now();
        const auto corr = h.correlation;

        if (h.type == type_id_of<RegisterNode>()) {
            reply(c, corr, register_node(c, payload_as<RegisterNode>(envelope)));
        } else if (h.type == type_id_of<RegisterName>()) {
            reply(c, corr, register_name(c, payload_as<RegisterName>(envelope)));
        } else if (h.type == type_id_of<UnregisterName>()) {
            reply(c, corr, unregister_name(c, payload_as<UnregisterName>(envelope)));
        } else if (h.type == type_id_of<Lookup>()) {
            lookup(c, corr, payload_as<Lookup>(envelope));
        } else if (h.type == type_id_of<Watch>()) {
            watch(c, corr, payload_as<Watch>(envelope));
        } else if (h.type == type_id_of<ListNodes>()) {
            payload_as<ListNodes>(envelope);
            reply(c, corr, list_nodes());
        } else {
            throw ProtocolViolation{"unknown message type " + std::to_string(h.type)};
        }
    }

    static Status refuse(std::string why) { return Status{false, std::move(why)}; }

    Status register_node(Connection& c, const RegisterNode& r) {
        if (!c.node.empty())
            return refuse("this connection already registered node '" + c.node + "'");
        if (!is_valid_name(r.node))
            return refuse("invalid node name '" + r.node +
                          "': use 1 to 255 printable ASCII characters, no spaces");
        if (auto it = nodes.find(r.node); it != nodes.end())
            return refuse("node name '" + r.node + "' is already registered by pid " +
                          std::to_string(connections.at(it->second).pid));
        c.node = r.node;
        c.pid = r.pid;
        c.endpoints = r.endpoints;
        nodes.emplace(c.node, c.id);
        spdlog::info("node '{}' (pid {}) registered", c.node, c.pid);
        return {};
    }

    Status register_name(Connection& c, const RegisterName& r) {
        if (c.node.empty())
            return refuse("register a node before registering the name '" + r.name + "'");
        if (!is_valid_name(r.name))
            return refuse("invalid name '" + r.name +
                          "': use 1 to 255 printable ASCII characters, no spaces");
        if (auto it = names.find(r.name); it != names.end()) {
            if (it->second == c.id) return {};
            const Connection& owner = connections.at(it->second);
            return refuse("name '" + r.name + "' is already registered by node '" + owner.node +
                          "' (pid " + std::to_string(owner.pid) + ")");
        }
        names.emplace(r.name, c.id);
        c.names.insert(r.name);
        spdlog::debug("node '{}' registered name '{}'", c.node, r.name);
        answer_lookups(r.name);
        return {};
    }

    Status unregister_name(Connection& c, const UnregisterName& r) {
        auto it = names.find(r.name);
        if (it == names.end() || it->second != c.id)
            return refuse("name '" + r.name + "' is not registered by this node");
        names.erase(it);
        c.names.erase(r.name);
        spdlog::debug("node '{}' unregistered name '{}'", c.node, r.name);
        name_down(r.name, "unregistered");
        return {};
    }

    Location location_of(const std::string& name) const {
        Location where;
        where.name = name;
        if (auto it = names.find(name); it != names.end()) {
            const Connection& owner = connections.at(it->second);
            where.found = true;
            where.node = owner.node;
            where.pid = owner.pid;
            where.endpoints = owner.endpoints;
        }
        return where;
    }

    void lookup(Connection& c, std::uint64_t correlation, const Lookup& r) {
        Location where = location_of(r.name);
        if (where.found || r.wait_ms <= 0) {
            reply(c, correlation, where);
            return;
        }
        // Held until the name is registered or the wait ends; capped at a day.
        auto wait = std::chrono::milliseconds(std::min<std::int64_t>(r.wait_ms, 86'400'000));
        lookups.push_back({c.id, correlation, r.name, Clock::now() + wait});
    }

    void answer_lookups(const std::string& name) {
        if (lookups.empty()) return;
        Location where = location_of(name);
        std::vector<PendingLookup> ready;
        std::erase_if(lookups, [&](PendingLookup& l) {
            if (l.name != name) return false;
            ready.push_back(std::move(l));
            return true;
        });
        for (const auto& l : ready)
            send_to(l.connection, envelope_flags::reply, l.correlation, where);
    }

    void expire_lookups() {
        if (lookups.empty()) return;
        auto now = Clock::now();
        std::vector<PendingLookup> expired;
        std::erase_if(lookups, [&](PendingLookup& l) {
            if (l.deadline > now) return false;
            expired.push_back(std::move(l));
            return true;
        });
        for (const auto& l : expired) {
            Location missing;
            missing.name = l.name;
            send_to(l.connection, envelope_flags::reply, l.correlation, missing);
        }
    }

    void watch(Connection& c, std::uint64_t correlation, const Watch& r) {
        reply(c, correlation, Status{});
        if (names.count(r.name) == 0) {
            send_to(c.id, 0, 0, NameDown{r.name, "not registered"});
            return;
        }
        watchers[r.name].insert(c.id);
        c.watching.insert(r.name);
    }

    NodeList list_nodes() const {
        NodeList list;
        for (const auto& [node, id] : nodes) {
            const Connection& c = connections.at(id);
            NodeInfo info;
            info.node = node;
            info.pid = c.pid;
            info.endpoints = c.endpoints;
            info.names.assign(c.names.begin(), c.names.end());
            list.nodes.push_back(std::move(info));
        }
        return list;
    }
};

RegistryServer::RegistryServer(ServerOptions options, DaemonLock lock)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(lock))) {
    try {
        impl_->start();
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
