// TCP with TCP_NODELAY: the orchestrator connects a pair of sockets, over loopback, or
// between the two network namespaces of --scenario veth.
#include "raw_fd_stream.hpp"

#include <courier/posix_call.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>

#include <exception>
#include <stdexcept>
#include <string>
#include <thread>

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

std::unique_ptr<Wiring> wire_tcp(const std::string& listen_at, int listen_netns,
                                 int connect_netns) {
    std::unique_ptr<Wiring> wiring;
    std::exception_ptr failed;
    auto make = [&] {
        try {
            if (listen_netns >= 0)
                COURIER_SYSCALL(::setns, listen_netns, CLONE_NEWNET).value_or_throw("setns");
            Fd listener = tcp_socket();
            sockaddr_in address{};
            address.sin_family = AF_INET;
            if (::inet_pton(AF_INET, listen_at.c_str(), &address.sin_addr) != 1)
                throw std::invalid_argument("raw tcp: no IPv4 address: " + listen_at);
            auto* generic = reinterpret_cast<sockaddr*>(&address);
            socklen_t length = sizeof(address);
            COURIER_SYSCALL(::bind, listener.get(), generic, length).value_or_throw("raw tcp bind");
            COURIER_SYSCALL(::listen, listener.get(), 1).value_or_throw("raw tcp listen");
            COURIER_SYSCALL(::getsockname, listener.get(), generic, &length)
                .value_or_throw("raw tcp getsockname");
            if (connect_netns >= 0)
                COURIER_SYSCALL(::setns, connect_netns, CLONE_NEWNET).value_or_throw("setns");
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
            wiring = std::make_unique<FdWiring>(a, b, std::move(owned));
        } catch (...) {
            failed = std::current_exception();
        }
    };
    // setns moves only the calling thread, and a socket stays in the namespace it was made
    // in: a thread of its own makes both ends, and this one stays where it is.
    if (listen_netns < 0 && connect_netns < 0)
        make();
    else
        std::thread(make).join();
    if (failed) std::rethrow_exception(failed);
    return wiring;
}

std::string describe_tcp(const std::string& where, Writes writes) {
    return "TCP " + where + ", TCP_NODELAY, default buffers; " + stream_framing(writes);
}

RawMechanism raw_tcp() {
    return {
        "tcp",
        [] { return describe_tcp("over 127.0.0.1"); },
        [](bool) { return wire_tcp("127.0.0.1", -1, -1); },
        [](Side, const std::string& spec) { return open_fd_spec(spec); },
    };
}

RawMechanism raw_tcp_each() {
    return {
        "tcp-each",
        [] { return describe_tcp("over 127.0.0.1", Writes::each); },
        [](bool) { return wire_tcp("127.0.0.1", -1, -1); },
        [](Side, const std::string& spec) { return open_fd_spec(spec, Writes::each); },
    };
}

}  // namespace courier::bench
