#include "tcp/tcp_listener.hpp"

#include "src/stream_framing.hpp"
#include "tcp/tcp_address.hpp"
#include "tcp/tcp_transport.hpp"

#include <courier/log.hpp>
#include <courier/posix_call.hpp>

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <array>
#include <optional>
#include <system_error>
#include <utility>

namespace courier::detail {

namespace {

/// One bind attempt: a listening socket, or the failed call.
Fd try_bind(const SocketAddress& address, const TransportOptions& options,
            const std::string& context, std::optional<SysResult>& failure) {
    const auto created =
        COURIER_SYSCALL(::socket, address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (!created.ok()) {  // e.g. EAFNOSUPPORT on a host without IPv6: try the next address
        failure = created;
        return Fd();
    }
    Fd fd(static_cast<int>(created.value));
    const int on = 1;
    // A restarted node takes its port back at once instead of waiting out TIME_WAIT.
    COURIER_SYSCALL(::setsockopt, fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, socklen_t{sizeof(on)})
        .value_or_throw(context);
    if (address.family() == AF_INET6) {
        // "[::]" means every IPv6 address and nothing else: IPv4 is bound only when an
        // IPv4 address says so.
        COURIER_SYSCALL(::setsockopt, fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on,
                        socklen_t{sizeof(on)})
            .value_or_throw(context);
    }
    // Before listen(): accepted sockets inherit the buffers, and the receive buffer sets
    // the window scale the handshake announces.
    apply_socket_buffers(fd.get(), options, context, true);
    auto bound = COURIER_SYSCALL(::bind, fd.get(), address.get(), address.length);
    if (!bound.ok()) {
        failure = bound;
        return Fd();
    }
    COURIER_SYSCALL(::listen, fd.get(), SOMAXCONN).value_or_throw(context);
    return fd;
}

}  // namespace

TcpListener::TcpListener(Endpoint endpoint, const TransportOptions& options, Fd socket,
                         TcpCookie cookie)
    : endpoint_(std::move(endpoint)),
      options_(options),
      socket_(std::move(socket)),
      events_(static_cast<int>(COURIER_SYSCALL(::epoll_create1, EPOLL_CLOEXEC)
                                   .value_or_throw("listen " + endpoint_.to_string()))),
      timer_(static_cast<int>(
          COURIER_SYSCALL(::timerfd_create, CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
              .value_or_throw("listen " + endpoint_.to_string()))),
      cookie_(std::move(cookie)),
      timeout_(options.handshake_timeout) {
    for (int fd : {socket_.get(), timer_.get()}) {
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.fd = fd;
        COURIER_SYSCALL(::epoll_ctl, events_.get(), EPOLL_CTL_ADD, fd, &event)
            .value_or_throw("listen " + endpoint_.to_string());
    }
}

TcpListener::~TcpListener() {
    if (unlogged_ > 0)
        log().warn("{}: and {} more tcp connections refused", endpoint_.to_string(), unlogged_);
}

std::unique_ptr<Listener> TcpListener::bind(const Endpoint& requested,
                                            const TransportOptions& options) {
    const auto address = TcpAddress::parse(requested);
    const std::string context = "listen " + requested.to_string();
    std::optional<SysResult> failure;
    for (const auto& candidate : address.resolve(context)) {
        Fd fd = try_bind(candidate, options, context, failure);
        if (!fd) continue;
        SocketAddress local;
        local.length = sizeof(local.storage);
        COURIER_SYSCALL(::getsockname, fd.get(), local.get(), &local.length)
            .value_or_throw(context);
        Endpoint endpoint{"tcp", local.to_string()};
        return std::make_unique<TcpListener>(std::move(endpoint), options, std::move(fd),
                                             load_cookie(cookie_location()));
    }
    if (failure && failure->error == EADDRINUSE) {
        throw std::system_error(std::make_error_code(std::errc::address_in_use),
                                context + ": the port is already bound by another listener");
    }
    throw system_error_from(*failure, context);
}

std::unique_ptr<Link> TcpListener::accept() {
    if (ready_.empty()) {
        std::array<epoll_event, 16> events{};
        const int n =
            ::epoll_wait(events_.get(), events.data(), static_cast<int>(events.size()), 0);
        for (int i = 0; i < n; ++i) {
            const int fd = events[static_cast<std::size_t>(i)].data.fd;
            if (fd == socket_.get()) {
                accept_new();
            } else if (fd == timer_.get()) {
                std::uint64_t expirations = 0;
                (void)::read(timer_.get(), &expirations, sizeof expirations);
            } else {
                advance(fd);
            }
        }
        expire();
        arm_timer();
    }
    if (ready_.empty()) return nullptr;
    auto link = std::move(ready_.front());
    ready_.pop_front();
    return link;
}

void TcpListener::accept_new() {
    const std::string context = "accept on " + endpoint_.to_string();
    for (;;) {
        const auto accepted = COURIER_SYSCALL(::accept4, socket_.get(), nullptr, nullptr,
                                              SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (!accepted.ok()) {
            if (accepted.error == EAGAIN || accepted.error == EWOULDBLOCK) return;
            if (accepted.error == ECONNABORTED) continue;
            throw system_error_from(accepted, context);
        }
        Fd peer(static_cast<int>(accepted.value));
        std::string description = describe_tcp_peer(peer.get());
        if (pending_.size() >= max_pending) {
            refused(description,
                    std::to_string(max_pending) + " connections are in their handshake already");
            continue;
        }
        try {
            set_no_delay(peer.get(), context);
            const int fd = peer.get();
            auto handshake = std::make_unique<ListenerHandshake>(
                std::move(peer), cookie_, description, std::chrono::steady_clock::now() + timeout_);
            epoll_event event{};
            event.events = EPOLLIN | EPOLLRDHUP;
            event.data.fd = fd;
            COURIER_SYSCALL(::epoll_ctl, events_.get(), EPOLL_CTL_ADD, fd, &event)
                .value_or_throw(context);
            pending_.emplace(fd, std::move(handshake));
        } catch (const std::exception& e) {
            // The peer may already have reset the connection: skip it like a refused one.
            refused(description, e.what());
        }
    }
}

void TcpListener::advance(int fd) {
    auto it = pending_.find(fd);
    if (it == pending_.end()) return;
    ListenerHandshake& handshake = *it->second;
    switch (handshake.advance()) {
        case ListenerHandshake::State::waiting:
            return;
        case ListenerHandshake::State::refused:
            refused(handshake.peer(), handshake.why());
            forget(fd);
            return;
        case ListenerHandshake::State::accepted:
            break;
    }
    (void)::epoll_ctl(events_.get(), EPOLL_CTL_DEL, fd, nullptr);
    std::string description = handshake.peer();
    Fd socket = handshake.take_socket();
    pending_.erase(it);
    ready_.push_back(std::make_unique<StreamLink>(std::move(socket), TcpTransport::capabilities(),
                                                  options_, std::move(description)));
}

void TcpListener::expire() {
    const auto now = std::chrono::steady_clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
        auto next = std::next(it);
        if (it->second->deadline() <= now) {
            refused(
                it->second->peer(),
                "no tcp handshake within " +
                    std::to_string(
                        std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count()) +
                    " ms");
            forget(it->first);
        }
        it = next;
    }
}

void TcpListener::arm_timer() {
    itimerspec when{};  // all zero: disarmed
    if (!pending_.empty()) {
        auto earliest = pending_.begin()->second->deadline();
        for (const auto& [fd, handshake] : pending_)
            earliest = std::min(earliest, handshake->deadline());
        const auto ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(earliest.time_since_epoch())
                .count();
        // steady_clock is CLOCK_MONOTONIC on Linux; 1 ns at least, as 0 would disarm it.
        when.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
        when.it_value.tv_nsec = static_cast<long>(std::max<std::int64_t>(ns % 1'000'000'000, 1));
    }
    (void)::timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &when, nullptr);
}

void TcpListener::forget(int fd) {
    (void)::epoll_ctl(events_.get(), EPOLL_CTL_DEL, fd, nullptr);
    pending_.erase(fd);  // closes it
}

void TcpListener::refused(const std::string& peer, const std::string& why) {
    // A stranger may connect thousands of times a second: a few lines a second, and a
    // count of the rest, keep the log bounded.
    constexpr unsigned lines_per_second = 5;
    const auto now = std::chrono::steady_clock::now();
    if (now - log_window_ >= std::chrono::seconds(1)) {
        if (unlogged_ > 0)
            log().warn("{}: and {} more tcp connections refused", endpoint_.to_string(), unlogged_);
        log_window_ = now;
        logged_ = 0;
        unlogged_ = 0;
    }
    if (logged_ < lines_per_second) {
        ++logged_;
        log().warn("{}: refused the tcp connection from {}: {}", endpoint_.to_string(), peer, why);
    } else {
        ++unlogged_;
    }
}

}  // namespace courier::detail
