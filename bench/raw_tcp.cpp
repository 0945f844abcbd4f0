// TCP over loopback with TCP_NODELAY: the orchestrator connects a pair of sockets.
#include "raw_fd_stream.hpp"

#include <courier/posix_call.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace courier::bench {

namespace {

Fd tcp_socket() {
    return Fd(static_cast<int>(COURIER_SYSCALL(::socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)
                                   .value_or_throw("raw tcp socket")));
}

void no_delay(const Fd& socket) {
    int one = 1;
    COURIER_SYSCALL(::setsockopt, socket.get(), IPPROTO_TCP, TCP_NODELAY, &one,
                    socklen_t{sizeof(one)})
        .value_or_throw("raw tcp TCP_NODELAY");
}

}  // namespace

RawMechanism raw_tcp() {
    return {
        "tcp",
        [] { return "TCP over 127.0.0.1, TCP_NODELAY, default buffers; " + stream_framing(); },
        [](bool) -> std::unique_ptr<Wiring> {
            Fd listener = tcp_socket();
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            address.sin_port = 0;
            auto* generic = reinterpret_cast<sockaddr*>(&address);
            socklen_t length = sizeof(address);
            COURIER_SYSCALL(::bind, listener.get(), generic, length).value_or_throw("raw tcp bind");
            COURIER_SYSCALL(::listen, listener.get(), 1).value_or_throw("raw tcp listen");
            COURIER_SYSCALL(::getsockname, listener.get(), generic, &length)
                .value_or_throw("raw tcp getsockname");
            Fd client = tcp_socket();
            COURIER_SYSCALL(::connect, client.get(), generic, length)
                .value_or_throw("raw tcp connect");
            Fd server(static_cast<int>(
                COURIER_SYSCALL(::accept4, listener.get(), nullptr, nullptr, SOCK_CLOEXEC)
                    .value_or_throw("raw tcp accept")));
            no_delay(client);
            no_delay(server);
            FdWiring::Ends a{client.get(), client.get()}, b{server.get(), server.get()};
            std::vector<Fd> owned;
            owned.push_back(std::move(client));
            owned.push_back(std::move(server));
            return std::make_unique<FdWiring>(a, b, std::move(owned));
        },
        [](Side, const std::string& spec) { return open_fd_spec(spec); },
    };
}

}  // namespace courier::bench
