#pragma once
/// @file
/// The master's TCP listening socket on 127.0.0.1, and the thread that accepts on it. It
/// never reads from what it accepts: each socket goes, unread, to whoever `accepted` gives
/// it to (the dispatcher actor, which hands it to a worker).

#include <courier/fd.hpp>

#include <cstdint>
#include <functional>
#include <thread>

namespace httpd {

class Listener {
  public:
    /// Listens on 127.0.0.1:`port` (0: a free port the kernel picks). Throws
    /// std::system_error (EADDRINUSE, ...).
    explicit Listener(std::uint16_t port);
    /// stop()
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    /// The port it listens on.
    std::uint16_t port() const noexcept { return port_; }

    /// Accepts connections on a thread of its own until stop(), giving each to `accepted`.
    void start(std::function<void(courier::Fd)> accepted);
    /// Ends the accepting thread; connections not accepted yet are refused with the socket.
    void stop();

  private:
    void run(const std::function<void(courier::Fd)>& accepted);

    courier::Fd socket_;
    courier::Fd stop_;  ///< an eventfd that wakes the accepting thread to end it
    std::uint16_t port_ = 0;
    std::thread thread_;
};

}  // namespace httpd
