#include "tcp/tcp_transport.hpp"

#include "src/stream_framing.hpp"
#include "tcp/tcp_address.hpp"
#include "tcp/tcp_cookie.hpp"
#include "tcp/tcp_handshake.hpp"
#include "tcp/tcp_listener.hpp"

#include <courier/posix_call.hpp>

#include <fcntl.h>

#include <optional>
#include <system_error>

namespace courier {

std::unique_ptr<Listener> TcpTransport::listen(const Endpoint& endpoint,
                                               const TransportOptions& options) {
    return detail::TcpListener::bind(endpoint, options);
}

std::unique_ptr<Link> TcpTransport::connect(const Endpoint& endpoint,
                                            const TransportOptions& options) {
    const auto address = detail::TcpAddress::parse(endpoint);
    const std::string context = "connect " + endpoint.to_string();
    const auto cookie = detail::load_cookie(detail::cookie_location());
    std::optional<SysResult> failure;
    for (const auto& candidate : address.resolve(context)) {
        // Blocking, so a full backlog waits for the listener instead of failing.
        const auto created =
            COURIER_SYSCALL(::socket, candidate.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (!created.ok()) {  // e.g. EAFNOSUPPORT on a host without IPv6
            failure = created;
            continue;
        }
        Fd fd(static_cast<int>(created.value));
        // Before connect(), so the handshake announces a window scale that fits.
        detail::apply_socket_buffers(fd.get(), options, context, true);
        auto connected = COURIER_SYSCALL(::connect, fd.get(), candidate.get(), candidate.length);
        if (!connected.ok()) {
            failure = connected;  // try the host's next address
            continue;
        }
        detail::set_no_delay(fd.get(), context);
        // The reactor reads the link; send() waits with poll() when the socket is full.
        const int flags =
            static_cast<int>(COURIER_SYSCALL(::fcntl, fd.get(), F_GETFL).value_or_throw(context));
        COURIER_SYSCALL(::fcntl, fd.get(), F_SETFL, flags | O_NONBLOCK).value_or_throw(context);
        std::string peer = detail::describe_tcp_peer(fd.get());
        detail::authenticate_to_listener(
            fd.get(), cookie, std::chrono::steady_clock::now() + options.handshake_timeout, peer);
        return std::make_unique<detail::StreamLink>(std::move(fd), capabilities(), options,
                                                    std::move(peer));
    }
    throw system_error_from(*failure, context);
}

}  // namespace courier
