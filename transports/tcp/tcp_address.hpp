#pragma once
/// @file
/// Addresses of the tcp: transport: `tcp://host:port`, where host is an IPv4 literal, a
/// bracketed IPv6 literal (`[::1]`) or a name, and port is 0..65535 (0: the kernel picks
/// one when listening). Private to courier_transports.

#include <courier/transports/endpoint.hpp>

#include <sys/socket.h>

#include <string>
#include <vector>

namespace courier::detail {

/// One address a host:port resolved to.
struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;

    int family() const noexcept { return storage.ss_family; }
    const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
    sockaddr* get() noexcept { return reinterpret_cast<sockaddr*>(&storage); }
    /// "127.0.0.1:5555" or "[::1]:5555": numeric, as Endpoint::address.
    std::string to_string() const;
    /// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback.
    bool is_loopback() const noexcept;
};

struct TcpAddress {
    std::string host;      ///< without brackets
    std::string port;      ///< decimal, 0..65535
    bool numeric = false;  ///< host is an IP literal (no name lookup)

    /// Throws std::invalid_argument when the host or the port is missing or malformed.
    static TcpAddress parse(const Endpoint& endpoint);

    /// Every address the host resolves to (getaddrinfo), in the resolver's order.
    /// Throws std::system_error naming the host when it does not resolve.
    std::vector<SocketAddress> resolve(const std::string& context) const;
};

/// The address at the other end of a connected socket, as "tcp://host:port".
std::string describe_tcp_peer(int socket);

/// Sets TCP_NODELAY: frames are written whole, so Nagle would only add latency.
/// Throws std::system_error.
void set_no_delay(int socket, const std::string& context);

}  // namespace courier::detail
