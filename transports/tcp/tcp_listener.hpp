#pragma once
/// @file
/// The listening side of tcp:. A connection becomes a link only once it proved it knows
/// the cookie (tcp_handshake.hpp); until then it waits here, in an epoll set of the
/// listener's own (poll_fd()), at most `max_pending` of them, each at most the handshake
/// timeout. Refusals are logged, a few lines a second at most. Private to
/// courier_transports.

#include "tcp/tcp_cookie.hpp"
#include "tcp/tcp_handshake.hpp"

#include <courier/fd.hpp>
#include <courier/transports/listener.hpp>
#include <courier/transports/transport.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>

namespace courier::detail {

class TcpListener final : public Listener {
  public:
    /// Binds the first address the host resolves to that accepts the bind, with
    /// SO_REUSEADDR, and listens. Port 0 takes a free port; endpoint() reports it.
    static std::unique_ptr<Listener> bind(const Endpoint& endpoint,
                                          const TransportOptions& options);

    /// Connections still in their handshake at once; more are closed as they come.
    static constexpr std::size_t max_pending = 64;

    const Endpoint& endpoint() const noexcept override { return endpoint_; }
    int poll_fd() const noexcept override { return events_.get(); }
    /// Accepts what is pending, moves the handshakes on, closes those past their deadline;
    /// returns a link that completed its handshake, else nullptr.
    std::unique_ptr<Link> accept() override;

    TcpListener(Endpoint endpoint, const TransportOptions& options, Fd socket, TcpCookie cookie);
    ~TcpListener() override;

  private:
    void accept_new();
    void advance(int fd);
    void expire();
    void arm_timer();
    /// Logs a refused connection: the first few of each second, then a count.
    void refused(const std::string& peer, const std::string& why);
    void forget(int fd);

    Endpoint endpoint_;
    TransportOptions options_;
    Fd socket_;
    Fd events_;  ///< epoll: the socket, the timer and the pending connections
    Fd timer_;   ///< timerfd: the earliest handshake deadline
    TcpCookie cookie_;
    std::chrono::microseconds timeout_;
    std::map<int, std::unique_ptr<ListenerHandshake>> pending_;
    std::deque<std::unique_ptr<Link>> ready_;
    std::chrono::steady_clock::time_point log_window_{};
    unsigned logged_ = 0;
    std::size_t unlogged_ = 0;
};

}  // namespace courier::detail
