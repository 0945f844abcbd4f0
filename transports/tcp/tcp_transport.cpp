#include "tcp/tcp_transport.hpp"

#include "src/stream_framing.hpp"
#include "tcp/tcp_address.hpp"
#include "tcp/tcp_cookie.hpp"
#include "tcp/tcp_handshake.hpp"
#include "tcp/tcp_listener.hpp"

#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <cerrno>

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
        // A host that does not answer (down, or its link cut) fails the connect after the
        // handshake timeout, not after the kernel's SYN retries (two minutes): Linux
        // bounds a blocking connect by the send timeout.
        const auto limit =
            std::chrono::duration_cast<std::chrono::microseconds>(options.handshake_timeout);
        const timeval bound{static_cast<time_t>(limit.count() / 1000000),
                            static_cast<suseconds_t>(limit.count() % 1000000)};
        COURIER_SYSCALL(::setsockopt, fd.get(), SOL_SOCKET, SO_SNDTIMEO, &bound,
                        socklen_t{sizeof bound})
            .value_or_throw(context);
        auto connected = COURIER_SYSCALL(::connect, fd.get(), candidate.get(), candidate.length);
        if (!connected.ok()) {
            failure = connected;  // try the host's next address (EINPROGRESS: no answer in time)
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
    if (failure->error == EINPROGRESS) {
        throw LinkError(context + ": no answer within " +
                        std::to_string(options.handshake_timeout.count() / 1000) +
                        " ms (handshake_timeout_us)");
    }
    throw system_error_from(*failure, context);
}

}  // namespace courier
