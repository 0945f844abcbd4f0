#pragma once
/// @file
/// The unix: transport: frames over AF_UNIX stream sockets, with fd passing and
/// peer-uid checks. docs/transports/unix.md is its manual page.

#include <courier/transports/capabilities.hpp>
#include <courier/transports/endpoint.hpp>
#include <courier/transports/link.hpp>
#include <courier/transports/listener.hpp>
#include <courier/transports/transport.hpp>

#include "src/socket_buffers.hpp"

#include <array>
#include <memory>
#include <string>
#include <string_view>

namespace courier {

struct UnixTransport {
    static constexpr std::string_view scheme = "unix";
    /// Its place in the default preference order, fastest first (lower is preferred).
    static constexpr int preference_rank = 60;

    /// Settings (`[transport.unix]`): SO_SNDBUF / SO_RCVBUF of both ends of a link.
    static constexpr std::array settings{detail::send_buffer_setting,
                                         detail::receive_buffer_setting};

    static Capabilities capabilities() noexcept {
        return Capabilities{.fd_passing = true, .priorities = false, .cross_host = false};
    }
    /// Binds a socket file (mode 0600, replacing a stale one, refusing a live one) or an
    /// abstract name, and listens. Throws std::invalid_argument / std::system_error.
    static std::unique_ptr<Listener> listen(const Endpoint& endpoint,
                                            const TransportOptions& options);
    /// Connects (blocking until the listener's backlog has room), then checks that the
    /// listener runs as our uid. Throws std::invalid_argument / std::system_error.
    static std::unique_ptr<Link> connect(const Endpoint& endpoint, const TransportOptions& options);
    /// `unix:@courier.<pid>.<node>` (EndpointHint::tag(): any node name fits the 107 bytes):
    /// abstract, so a killed node leaves no file behind.
    static Endpoint default_endpoint(const EndpointHint& hint) {
        std::string address = "@";  // not "@" + tag(): GCC 12 misreports -Wrestrict on that
        address += hint.tag();
        return Endpoint{"unix", std::move(address)};
    }
};

static_assert(Transport<UnixTransport>);

}  // namespace courier
