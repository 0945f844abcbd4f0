#pragma once
/// @file
/// One client connection of a worker: its bytes in, the requests they make, the
/// responses out, in order, one request at a time (a pipelined request waits in the
/// buffer until the one before it is answered). Non-blocking: the worker's event loop
/// (server.hpp) calls it when the socket is ready and asks what to wait for next.

#include "http_request.hpp"

#include <courier/fd.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

namespace httpd {

using Clock = std::chrono::steady_clock;

/// What every connection of a worker shares.
struct Site {
    int root = -1;  ///< the served directory, open (O_PATH)
    std::chrono::milliseconds idle_timeout{30000};
};

class Connection {
  public:
    Connection(std::uint64_t id, courier::Fd socket, const Site& site);

    std::uint64_t id() const noexcept { return id_; }
    int socket() const noexcept { return socket_.get(); }
    std::uint64_t requests() const noexcept { return requests_; }

    /// The socket is ready (epoll's events): reads and writes what it can, then answers
    /// what it has.
    void on_ready(std::uint32_t events);
    /// The answer to the /stats request this connection waits for (wants_stats()).
    void on_stats(int status, const std::string& page);

    /// It waits for the master's counts: the loop asks for them, once per request.
    bool wants_stats() noexcept { return std::exchange(stats_asked_, false); }
    /// The epoll events it waits for now.
    std::uint32_t interest() const noexcept;
    /// Over: the loop closes it and tells the master.
    bool finished() const noexcept { return finished_; }
    /// Closes it when it has been idle too long (a lingering close, sooner).
    void check_timeout(Clock::time_point now);

  private:
    void read_some();
    void write_some();
    /// Answers requests from the buffer until one must wait (for the socket, the master).
    void advance();
    void answer(const Request& request);
    void respond(std::string head_and_body, bool keep_alive);
    /// Done sending: shut our side, then read until the client closes its side, so
    /// that the kernel never resets a response the client has not read yet.
    void linger();

    std::uint64_t id_;
    courier::Fd socket_;
    const Site& site_;
    std::string in_;          ///< received, not yet consumed
    std::uint64_t skip_ = 0;  ///< body bytes of the last request still to discard
    std::string out_;         ///< to send: a head, or a whole short response
    std::size_t out_sent_ = 0;
    courier::Fd file_;  ///< then this file's bytes, by sendfile
    std::uint64_t file_offset_ = 0;
    std::uint64_t file_left_ = 0;
    bool blocked_ = false;        ///< the socket would not take more: wait for EPOLLOUT
    bool close_after_ = false;    ///< close once the current response is out
    bool waiting_stats_ = false;  ///< a /stats request waits for the master's counts
    bool stats_asked_ = false;
    bool stats_head_only_ = false;
    Request stats_request_;
    bool peer_closed_ = false;  ///< the client shut its side (read returned 0)
    bool lingering_ = false;
    bool finished_ = false;
    std::uint64_t requests_ = 0;
    Clock::time_point active_ = Clock::now();
};

}  // namespace httpd
