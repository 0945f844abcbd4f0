#pragma once
/// @file
/// A listener over a socket that another process bound: how courierd serves the socket
/// systemd passes it (socket activation) without naming a scheme.

#include <courier/fd.hpp>
#include <courier/transports/listener.hpp>

#include <memory>
#include <string_view>

namespace courier {

/// A listener on a local stream socket that another process bound and listens on at
/// `path`. It accepts as a listener of local_socket_endpoint(path) does, but never removes
/// the socket file: that is its creator's. Makes the descriptor non-blocking and
/// close-on-exec; throws std::system_error if it cannot.
std::unique_ptr<Listener> adopt_local_socket_listener(Fd socket, std::string_view path);

}  // namespace courier
