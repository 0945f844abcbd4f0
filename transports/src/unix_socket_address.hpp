#pragma once
/// @file
/// Addresses of unix-domain sockets, `unix:/path/to.sock` (a socket file) and `unix:@name`
/// (Linux abstract namespace, no file), and the peer on one: what unix: and the rendezvous
/// of the connectionless transports share. Private to courier_transports.

#include <courier/transports/endpoint.hpp>

#include <sys/socket.h>
#include <sys/un.h>

#include <string>

namespace courier::detail {

struct UnixAddress {
    sockaddr_un storage{};
    socklen_t length = 0;  ///< the sockaddr length to pass to bind/connect
    bool abstract = false;
    std::string path;  ///< the socket file (empty for an abstract address)

    /// Throws std::invalid_argument when the address is empty, too long for sun_path,
    /// or an abstract name is missing.
    static UnixAddress parse(const Endpoint& endpoint);

    const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
};

/// The peer's credentials (SO_PEERCRED) as the kernel recorded them at connect time.
/// Throws std::system_error.
ucred peer_credentials(int socket);

/// "unix:/path (pid 123, uid 1000)", for Link::peer().
std::string describe_peer(const Endpoint& endpoint, const ucred& credentials);

}  // namespace courier::detail
