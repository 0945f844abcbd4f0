#include "unix/unix_listener.hpp"

#include "src/stream_framing.hpp"
#include "unix/unix_transport.hpp"

#include <courier/log.hpp>
#include <courier/posix_call.hpp>
#include <courier/transports/adopted_listener.hpp>

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <utility>

namespace courier::detail {

namespace {

std::system_error error(std::errc code, const std::string& what) {
    return std::system_error(std::make_error_code(code), what);
}

/// Clears the socket file a crashed predecessor left at `address.path`, or throws if a
/// live listener answers there or the path is not a socket at all.
void remove_stale_socket_file(const UnixAddress& address, const std::string& context) {
    struct stat status {};
    const auto found = COURIER_SYSCALL(::lstat, address.path.c_str(), &status);
    if (!found.ok()) {
        if (found.error == ENOENT) return;
        throw system_error_from(found, context);
    }
    if (!S_ISSOCK(status.st_mode)) {
        throw error(std::errc::file_exists,
                    context + ": " + address.path + " exists and is not a socket; not removing it");
    }
    // Knock: a live listener accepts (or has a full backlog: EAGAIN); a dead one refuses.
    Fd probe(static_cast<int>(
        COURIER_SYSCALL(::socket, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
            .value_or_throw(context)));
    const auto knock = COURIER_SYSCALL(::connect, probe.get(), address.get(), address.length);
    if (knock.ok() || knock.error == EAGAIN || knock.error == EINPROGRESS) {
        throw error(std::errc::address_in_use,
                    context + ": a live listener already owns " + address.path);
    }
    if (knock.error == ENOENT) return;  // it went away meanwhile
    if (knock.error != ECONNREFUSED) throw system_error_from(knock, context + " (probing)");
    const auto removed = remove_name(NameKind::file, address.path);
    if (!removed.ok() && removed.error != ENOENT) throw system_error_from(removed, context);
    log().debug("{}: removed the stale socket file {}", context, address.path);
}

/// bind() with umask 0177, so the socket file is born 0600: there is no moment when
/// another user could connect. umask is per process, hence the lock.
SysResult bind_owner_only(int socket, const UnixAddress& address) {
    static std::mutex umask_mutex;
    std::lock_guard lock(umask_mutex);
    const mode_t previous = ::umask(S_IRWXG | S_IRWXO | S_IXUSR);
    auto result = COURIER_SYSCALL(::bind, socket, address.get(), address.length);
    ::umask(previous);
    return result;
}

}  // namespace

UnixListener::UnixListener(Endpoint endpoint, const TransportOptions& options, Fd socket,
                           CreatedName file)
    : endpoint_(std::move(endpoint)),
      options_(options),
      file_(std::move(file)),
      socket_(std::move(socket)) {}

std::unique_ptr<Listener> UnixListener::bind(const Endpoint& requested,
                                             const TransportOptions& options) {
    Endpoint endpoint = requested;
    if (!endpoint.address.starts_with('@')) {
        // The listener removes its file later, maybe after a chdir: keep an absolute path.
        endpoint.address = std::filesystem::absolute(endpoint.address).lexically_normal();
    }
    const auto address = UnixAddress::parse(endpoint);
    const std::string context = "listen " + endpoint.to_string();

    if (!address.abstract) remove_stale_socket_file(address, context);
    Fd fd(static_cast<int>(
        COURIER_SYSCALL(::socket, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
            .value_or_throw(context)));
    const auto bound = bind_owner_only(fd.get(), address);
    if (!bound.ok()) {
        if (bound.error == EADDRINUSE) {
            throw error(std::errc::address_in_use,
                        context + ": the address is already bound by another listener");
        }
        throw system_error_from(bound, context);
    }
    CreatedName file = address.abstract ? CreatedName() : CreatedName(NameKind::file, address.path);
    // Accepted sockets do not inherit a unix listener's buffers (accept() sets them);
    // setting them here reports a request the kernel caps once, at listen time.
    apply_socket_buffers(fd.get(), options, context, true);
    COURIER_SYSCALL(::listen, fd.get(), SOMAXCONN).value_or_throw(context);
    return std::make_unique<UnixListener>(std::move(endpoint), options, std::move(fd),
                                          std::move(file));
}

std::unique_ptr<Link> UnixListener::accept() {
    for (;;) {
        const auto accepted = COURIER_SYSCALL(::accept4, socket_.get(), nullptr, nullptr,
                                              SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (!accepted.ok()) {
            if (accepted.error == EAGAIN || accepted.error == EWOULDBLOCK) return nullptr;
            if (accepted.error == ECONNABORTED) continue;
            throw system_error_from(accepted, "accept on " + endpoint_.to_string());
        }
        Fd peer(static_cast<int>(accepted.value));
        ucred credentials{};
        try {
            credentials = peer_credentials(peer.get());
        } catch (const std::system_error& e) {
            log().warn("{}: refused a connection: {}", endpoint_.to_string(), e.what());
            continue;
        }
        if (credentials.uid != ::geteuid()) {
            log().warn(
                "{}: refused a connection from pid {} running as uid {} (this node "
                "runs as uid {})",
                endpoint_.to_string(), credentials.pid, credentials.uid, ::geteuid());
            continue;
        }
        try {
            apply_socket_buffers(peer.get(), options_, "accept on " + endpoint_.to_string(), false);
        } catch (const std::system_error& e) {
            log().warn("{}: dropped a connection: {}", endpoint_.to_string(), e.what());
            continue;
        }
        return std::make_unique<StreamLink>(std::move(peer), UnixTransport::capabilities(),
                                            options_, describe_peer(endpoint_, credentials));
    }
}

}  // namespace courier::detail

namespace courier {

std::unique_ptr<Listener> adopt_local_socket_listener(Fd socket, std::string_view path) {
    const std::string context = "adopt the listening socket " + std::string(path);
    // accept() must say EAGAIN rather than block the reactor; and a program we might start
    // must not inherit the registry's socket.
    const int flags =
        static_cast<int>(COURIER_SYSCALL(::fcntl, socket.get(), F_GETFL).value_or_throw(context));
    COURIER_SYSCALL(::fcntl, socket.get(), F_SETFL, flags | O_NONBLOCK).value_or_throw(context);
    COURIER_SYSCALL(::fcntl, socket.get(), F_SETFD, FD_CLOEXEC).value_or_throw(context);
    // No CreatedName: the file is the creator's to remove, not ours.
    return std::make_unique<detail::UnixListener>(local_socket_endpoint(path), TransportOptions{},
                                                  std::move(socket), detail::CreatedName());
}

}  // namespace courier
