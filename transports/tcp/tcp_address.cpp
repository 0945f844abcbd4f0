#include "tcp/tcp_address.hpp"

#include <courier/posix_call.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace courier::detail {

namespace {

std::invalid_argument invalid(const Endpoint& endpoint, const std::string& why) {
    return std::invalid_argument("invalid tcp endpoint \"" + endpoint.to_string() + "\": " + why +
                                 " (expected tcp://host:port, e.g. tcp://127.0.0.1:7000 or "
                                 "tcp://[::1]:7000)");
}

bool is_ip_literal(const std::string& host) {
    std::array<unsigned char, sizeof(in6_addr)> buffer{};
    return ::inet_pton(AF_INET, host.c_str(), buffer.data()) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), buffer.data()) == 1;
}

}  // namespace

std::string SocketAddress::to_string() const {
    std::array<char, INET6_ADDRSTRLEN> text{};
    if (family() == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(storage);
        ::inet_ntop(AF_INET6, &v6.sin6_addr, text.data(), text.size());
        // Appended, not "[" + ...: GCC 12 misreports -Wrestrict on that.
        std::string out = "[";
        out += text.data();
        out += "]:";
        out += std::to_string(ntohs(v6.sin6_port));
        return out;
    }
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(storage);
    ::inet_ntop(AF_INET, &v4.sin_addr, text.data(), text.size());
    return std::string(text.data()) + ":" + std::to_string(ntohs(v4.sin_port));
}

bool SocketAddress::is_loopback() const noexcept {
    if (family() == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(storage).sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
        return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
    }
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(storage);
    return (ntohl(v4.sin_addr.s_addr) >> 24) == 127;
}

TcpAddress TcpAddress::parse(const Endpoint& endpoint) {
    const std::string& text = endpoint.address;
    TcpAddress address;
    std::string rest;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string::npos) throw invalid(endpoint, "'[' without a closing ']'");
        address.host = text.substr(1, close - 1);
        rest = text.substr(close + 1);
        std::array<unsigned char, sizeof(in6_addr)> buffer{};
        if (::inet_pton(AF_INET6, address.host.c_str(), buffer.data()) != 1) {
            throw invalid(endpoint, "\"" + address.host + "\" in brackets is not an IPv6 address");
        }
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos) throw invalid(endpoint, "no ':port'");
        address.host = text.substr(0, colon);
        rest = text.substr(colon);
        if (address.host.find(':') != std::string::npos) {
            throw invalid(endpoint, "an IPv6 address must be written in brackets");
        }
    }
    if (address.host.empty()) {
        // Never a silent "any address": the node binds only what the address says.
        throw invalid(endpoint,
                      "the host is empty (write 127.0.0.1, or 0.0.0.0 to mean every "
                      "IPv4 address)");
    }
    if (!rest.starts_with(':') || rest.size() == 1)
        throw invalid(endpoint, "no port after the host");
    address.port = rest.substr(1);
    if (address.port.size() > 5 ||
        address.port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(address.port) > 65535) {
        throw invalid(endpoint, "the port must be a number from 0 to 65535");
    }
    address.port = std::to_string(std::stoul(address.port));  // "007" -> "7"
    address.numeric = is_ip_literal(address.host);
    return address;
}

std::vector<SocketAddress> TcpAddress::resolve(const std::string& context) const {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV | (numeric ? AI_NUMERICHOST : 0);
    addrinfo* found = nullptr;
    const int status = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (status != 0) {
        const int code = status == EAI_SYSTEM ? errno : EADDRNOTAVAIL;
        throw std::system_error(
            code, std::generic_category(),
            context + ": cannot resolve \"" + host + "\": " + ::gai_strerror(status));
    }
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, &::freeaddrinfo);
    std::vector<SocketAddress> addresses;
    for (const addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
        if (entry->ai_family != AF_INET && entry->ai_family != AF_INET6) continue;
        if (entry->ai_addrlen > sizeof(sockaddr_storage)) continue;
        SocketAddress address;
        std::memcpy(&address.storage, entry->ai_addr, entry->ai_addrlen);
        address.length = entry->ai_addrlen;
        addresses.push_back(address);
    }
    if (addresses.empty()) {
        throw std::system_error(EADDRNOTAVAIL, std::generic_category(),
                                context + ": \"" + host + "\" has no IPv4 or IPv6 address");
    }
    return addresses;
}

std::string describe_tcp_peer(int socket) {
    SocketAddress peer;
    peer.length = sizeof(peer.storage);
    const auto result = COURIER_SYSCALL(::getpeername, socket, peer.get(), &peer.length);
    if (!result.ok()) return "tcp://(unknown peer)";
    return "tcp://" + peer.to_string();
}

void set_no_delay(int socket, const std::string& context) {
    const int on = 1;
    COURIER_SYSCALL(::setsockopt, socket, IPPROTO_TCP, TCP_NODELAY, &on, socklen_t{sizeof(on)})
        .value_or_throw(context);
}

}  // namespace courier::detail
