#include "src/unix_socket_address.hpp"

#include <courier/posix_call.hpp>

#include <cstring>
#include <stdexcept>

namespace courier::detail {

UnixAddress UnixAddress::parse(const Endpoint& endpoint) {
    UnixAddress address;
    address.storage.sun_family = AF_UNIX;
    const std::string& text = endpoint.address;
    // sun_path holds 108 bytes: a path needs its terminating NUL, an abstract name its
    // leading one.
    constexpr std::size_t capacity = sizeof(address.storage.sun_path) - 1;
    const auto invalid = [&](const std::string& why) {
        return std::invalid_argument("invalid unix endpoint \"" + endpoint.to_string() +
                                     "\": " + why);
    };
    const auto base = offsetof(sockaddr_un, sun_path);

    if (text.starts_with('@')) {
        const std::string name = text.substr(1);
        if (name.empty()) throw invalid("the abstract name after '@' is empty");
        if (name.size() > capacity) {
            throw invalid("abstract names are at most " + std::to_string(capacity) + " bytes");
        }
        address.abstract = true;
        address.storage.sun_path[0] = '\0';
        std::memcpy(address.storage.sun_path + 1, name.data(), name.size());
        // Abstract names are length-delimited: no trailing NUL is part of the name.
        address.length = static_cast<socklen_t>(base + 1 + name.size());
        return address;
    }
    if (text.empty()) throw invalid("the path is empty");
    if (text.size() > capacity) {
        throw invalid("socket paths are at most " + std::to_string(capacity) +
                      " bytes (sun_path); use a shorter directory or an abstract @name");
    }
    address.path = text;
    std::memcpy(address.storage.sun_path, text.data(), text.size());
    address.length = static_cast<socklen_t>(base + text.size() + 1);
    return address;
}

ucred peer_credentials(int socket) {
    ucred credentials{};
    socklen_t size = sizeof(credentials);
    COURIER_SYSCALL(::getsockopt, socket, SOL_SOCKET, SO_PEERCRED, &credentials, &size)
        .value_or_throw("read the peer's credentials");
    return credentials;
}

std::string describe_peer(const Endpoint& endpoint, const ucred& credentials) {
    return endpoint.to_string() + " (pid " + std::to_string(credentials.pid) + ", uid " +
           std::to_string(credentials.uid) + ")";
}

}  // namespace courier::detail
