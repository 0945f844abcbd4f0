#include "registry/server_connection.hpp"

#include <sys/socket.h>

namespace courier::registry {

bool ServerConnection::queue(std::span<const std::byte> frame, std::size_t most) {
    if (unsent_bytes_ + frame.size() > most) return false;
    unsent_.emplace_back(frame.begin(), frame.end());
    unsent_bytes_ += frame.size();
    return true;
}

bool ServerConnection::pump() {
    while (link->try_flush() && !unsent_.empty() && link->try_send(unsent_.front())) {
        unsent_bytes_ -= unsent_.front().size();
        unsent_.pop_front();
    }
    return unsent_.empty() && link->try_flush();
}

std::int64_t peer_pid_of(const Link& link) {
    ucred credentials{};
    socklen_t size = sizeof credentials;
    if (::getsockopt(link.poll_fd(), SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0) return 0;
    return credentials.pid;
}

}  // namespace courier::registry
