#include "unix/unix_transport.hpp"

#include "src/stream_framing.hpp"
#include "src/unix_socket_address.hpp"
#include "unix/unix_listener.hpp"

#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <system_error>

namespace courier {

std::unique_ptr<Listener> UnixTransport::listen(const Endpoint& endpoint,
                                                const TransportOptions& options) {
    return detail::UnixListener::bind(endpoint, options);
}

std::unique_ptr<Link> UnixTransport::connect(const Endpoint& endpoint,
                                             const TransportOptions& options) {
    const auto address = detail::UnixAddress::parse(endpoint);
    const std::string context = "connect " + endpoint.to_string();
    // Blocking, so a full backlog waits for the listener instead of failing with EAGAIN.
    Fd fd(static_cast<int>(
        COURIER_SYSCALL(::socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0).value_or_throw(context)));
    detail::apply_socket_buffers(fd.get(), options, context, true);
    COURIER_SYSCALL(::connect, fd.get(), address.get(), address.length).value_or_throw(context);

    // Trust goes both ways: do not hand frames to a listener run by another user.
    const ucred credentials = detail::peer_credentials(fd.get());
    if (credentials.uid != ::geteuid()) {
        throw std::system_error(std::make_error_code(std::errc::permission_denied),
                                context + ": the listener runs as uid " +
                                    std::to_string(credentials.uid) + ", not as ours (" +
                                    std::to_string(::geteuid()) + ")");
    }
    // The reactor reads the link; send() waits with poll() when the socket is full.
    const int flags =
        static_cast<int>(COURIER_SYSCALL(::fcntl, fd.get(), F_GETFL).value_or_throw(context));
    COURIER_SYSCALL(::fcntl, fd.get(), F_SETFL, flags | O_NONBLOCK).value_or_throw(context);

    return std::make_unique<detail::StreamLink>(std::move(fd), capabilities(), options,
                                                detail::describe_peer(endpoint, credentials));
}

}  // namespace courier
