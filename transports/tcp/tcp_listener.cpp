#include "tcp/tcp_listener.hpp"

#include "src/stream_framing.hpp"
#include "tcp/tcp_address.hpp"
#include "tcp/tcp_transport.hpp"

#include <courier/posix_call.hpp>

#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <system_error>
#include <utility>

namespace courier::detail {

namespace {

/// One bind attempt: a listening socket, or the failed call.
Fd try_bind(const SocketAddress& address, const TransportOptions& options,
            const std::string& context, std::optional<SysResult>& failure) {
    const auto created =
        COURIER_SYSCALL(::socket, address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (!created.ok()) {  // e.g. EAFNOSUPPORT on a host without IPv6: try the next address
        failure = created;
        return Fd();
    }
    Fd fd(static_cast<int>(created.value));
    const int on = 1;
    // A restarted node takes its port back at once instead of waiting out TIME_WAIT.
    COURIER_SYSCALL(::setsockopt, fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, socklen_t{sizeof(on)})
        .value_or_throw(context);
    if (address.family() == AF_INET6) {
        // "[::]" means every IPv6 address and nothing else: IPv4 is bound only when an
        // IPv4 address says so.
        COURIER_SYSCALL(::setsockopt, fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on,
                        socklen_t{sizeof(on)})
            .value_or_throw(context);
    }
    // Before listen(): accepted sockets inherit the buffers, and the receive buffer sets
    // the window scale the handshake announces.
    apply_socket_buffers(fd.get(), options, context, true);
    auto bound = COURIER_SYSCALL(::bind, fd.get(), address.get(), address.length);
    if (!bound.ok()) {
        failure = bound;
        return Fd();
    }
    COURIER_SYSCALL(::listen, fd.get(), SOMAXCONN).value_or_throw(context);
    return fd;
}

}  // namespace

TcpListener::TcpListener(Endpoint endpoint, const TransportOptions& options, Fd socket)
    : endpoint_(std::move(endpoint)), options_(options), socket_(std::move(socket)) {}

std::unique_ptr<Listener> TcpListener::bind(const Endpoint& requested,
                                            const TransportOptions& options) {
    const auto address = TcpAddress::parse(requested);
    const std::string context = "listen " + requested.to_string();
    std::optional<SysResult> failure;
    for (const auto& candidate : address.resolve(context)) {
        Fd fd = try_bind(candidate, options, context, failure);
        if (!fd) continue;
        SocketAddress local;
        local.length = sizeof(local.storage);
        COURIER_SYSCALL(::getsockname, fd.get(), local.get(), &local.length)
            .value_or_throw(context);
        Endpoint endpoint{"tcp", local.to_string()};
        if (!local.is_loopback()) {
            spdlog::warn(
                "{}: listening on {}, which is not loopback; tcp: links are not "
                "authenticated yet, so anyone who can reach it can send frames",
                context, endpoint.to_string());
        }
        return std::make_unique<TcpListener>(std::move(endpoint), options, std::move(fd));
    }
    if (failure && failure->error == EADDRINUSE) {
        throw std::system_error(std::make_error_code(std::errc::address_in_use),
                                context + ": the port is already bound by another listener");
    }
    throw system_error_from(*failure, context);
}

std::unique_ptr<Link> TcpListener::accept() {
    for (;;) {
        const auto accepted = COURIER_SYSCALL(::accept4, socket_.get(), nullptr, nullptr,
                                              SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (!accepted.ok()) {
            if (accepted.error == EAGAIN || accepted.error == EWOULDBLOCK) return nullptr;
            if (accepted.error == ECONNABORTED) continue;
            throw system_error_from(accepted, "accept on " + endpoint_.to_string());
        }
        Fd peer(static_cast<int>(accepted.value));
        try {
            set_no_delay(peer.get(), "accept on " + endpoint_.to_string());
        } catch (const std::system_error& e) {
            // The peer may already have reset the connection: skip it like a refused one.
            spdlog::warn("{}: dropped a connection: {}", endpoint_.to_string(), e.what());
            continue;
        }
        std::string description = describe_tcp_peer(peer.get());
        return std::make_unique<StreamLink>(std::move(peer), TcpTransport::capabilities(), options_,
                                            std::move(description));
    }
}

}  // namespace courier::detail
