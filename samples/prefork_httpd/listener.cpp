#include "listener.hpp"

#include <courier/posix_call.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <string>
#include <thread>

namespace httpd {

namespace {

courier::Fd checked(courier::SysResult result, const char* what) {
    return courier::Fd(static_cast<int>(result.value_or_throw(what)));
}

}  // namespace

Listener::Listener(std::uint16_t port)
    : socket_(
          checked(COURIER_SYSCALL(::socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0),
                  "socket")),
      stop_(checked(COURIER_SYSCALL(::eventfd, 0U, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd")) {
    const int on = 1;
    ::setsockopt(socket_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // 127.0.0.1 only, never the network
    address.sin_port = htons(port);
    const std::string where = "127.0.0.1:" + std::to_string(port);
    COURIER_SYSCALL(::bind, socket_.get(), reinterpret_cast<const sockaddr*>(&address),
                    socklen_t{sizeof address})
        .value_or_throw("bind " + where);
    COURIER_SYSCALL(::listen, socket_.get(), SOMAXCONN).value_or_throw("listen on " + where);
    socklen_t length = sizeof address;
    COURIER_SYSCALL(::getsockname, socket_.get(), reinterpret_cast<sockaddr*>(&address), &length)
        .value_or_throw("getsockname");
    port_ = ntohs(address.sin_port);
}

Listener::~Listener() {
    stop();
}

void Listener::start(std::function<void(courier::Fd)> accepted) {
    thread_ = std::thread([this, accepted = std::move(accepted)] { run(accepted); });
}

void Listener::stop() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(stop_.get(), &one, sizeof one);
    if (thread_.joinable()) thread_.join();
}

void Listener::run(const std::function<void(courier::Fd)>& accepted) {
    std::array<pollfd, 2> watched{{{socket_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}}};
    for (;;) {
        if (!COURIER_SYSCALL(::poll, watched.data(), watched.size(), -1).ok()) continue;
        if (watched[1].revents != 0) return;
        // Accepted blocking: the worker that gets it makes it non-blocking for itself.
        const auto client =
            COURIER_SYSCALL(::accept4, socket_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (client.ok()) {
            accepted(courier::Fd(static_cast<int>(client.value)));
        } else if (client.error == EMFILE || client.error == ENFILE || client.error == ENOMEM ||
                   client.error == ENOBUFS) {
            // Out of descriptors: the connection stays queued; let some close first
            // rather than spin on poll.
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }  // else it went away before we took it (ECONNABORTED), or another took it
    }
}

}  // namespace httpd
