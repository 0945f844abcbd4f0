#pragma once
/// @file
/// The tcp: transport: frames over TCP stream sockets, across hosts. No fd passing. Both
/// ends prove they know the cookie before any frame (tcp_handshake.hpp, tcp_cookie.hpp).
/// docs/transports/tcp.md is its manual page.

#include <courier/transports/capabilities.hpp>
#include <courier/transports/endpoint.hpp>
#include <courier/transports/heartbeat.hpp>
#include <courier/transports/link.hpp>
#include <courier/transports/listener.hpp>
#include <courier/transports/transport.hpp>

#include "src/socket_buffers.hpp"

#include <array>
#include <memory>
#include <string_view>

namespace courier {

struct TcpTransport {
    static constexpr std::string_view scheme = "tcp";
    /// Its place in the default preference order, fastest first (lower is preferred).
    static constexpr int preference_rank = 70;

    /// Settings (`[transport.tcp]`): SO_SNDBUF / SO_RCVBUF of both ends of a link, and the
    /// heartbeat the node keeps on its links (heartbeat.hpp). The cookie handshake's
    /// deadline is the generic handshake_timeout_us (TransportOptions::handshake_timeout).
    static constexpr std::array settings{detail::send_buffer_setting,
                                         detail::receive_buffer_setting, heartbeat_interval_setting,
                                         heartbeat_timeout_setting};

    static Capabilities capabilities() noexcept {
        return Capabilities{.fd_passing = false, .priorities = false, .cross_host = true};
    }
    /// Binds exactly the address given (port 0: any free port, reported by endpoint())
    /// with SO_REUSEADDR, and listens. Throws std::invalid_argument / std::system_error,
    /// and std::runtime_error when the cookie cannot be read or made.
    static std::unique_ptr<Listener> listen(const Endpoint& endpoint,
                                            const TransportOptions& options);
    /// Connects to the first address of the host that answers (blocking, the kernel's
    /// connect timeout applies), with TCP_NODELAY, and runs the handshake (up to the
    /// handshake timeout). Throws std::invalid_argument / std::system_error, LinkError when
    /// the handshake fails, std::runtime_error when the cookie cannot be read.
    static std::unique_ptr<Link> connect(const Endpoint& endpoint, const TransportOptions& options);
    /// `tcp://127.0.0.1:0`: loopback only unless an address is configured, any free port.
    static Endpoint default_endpoint(const EndpointHint&) { return Endpoint{"tcp", "127.0.0.1:0"}; }
};

static_assert(Transport<TcpTransport>);

}  // namespace courier
