#pragma once
/// @file
/// A worker's event loop: the connections the master handed it, served on one thread of
/// their own by epoll, so that one slow client never holds up another and the node's
/// actor threads never block on a socket. The worker's actor gives it sockets (adopt)
/// and the master's counts for /stats (stats_ready); the loop tells it, through hooks
/// called on the loop's thread, when a connection closed or wants those counts.

#include "connection.hpp"

#include <courier/fd.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace httpd {

struct ServerHooks {
    /// Connection `id` closed after serving `requests` requests.
    std::function<void(std::uint64_t id, std::uint64_t requests)> closed;
    /// Connection `id` asked for /stats: get the counts, then call Server::stats_ready.
    std::function<void(std::uint64_t id)> want_stats;
};

class Server {
  public:
    /// Starts the loop's thread. Throws std::system_error when epoll or eventfd fail.
    Server(Site site, ServerHooks hooks);
    /// stop()
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Serves `socket` from now on as connection `id` (the master's number; not 0). Any
    /// thread. After stop(), closes it.
    void adopt(std::uint64_t id, courier::Fd socket);
    /// Answers the /stats request of connection `id` with `page`. Any thread.
    void stats_ready(std::uint64_t id, int status, std::string page);
    /// Ends the loop and closes every connection, without hooks. Any thread but the loop's.
    void stop();

  private:
    struct Arrival {
        std::uint64_t id = 0;
        courier::Fd socket;
    };
    struct StatsAnswer {
        std::uint64_t id = 0;
        int status = 0;
        std::string page;
    };
    struct Entry {
        std::unique_ptr<Connection> connection;
        std::uint32_t interest = 0;  ///< what epoll watches for it now
    };

    void run();
    void wake();
    /// What adopt and stats_ready left for the loop.
    void take_inbox();
    /// After a connection did something: closes it when it is over, else tells epoll what
    /// it waits for now, and passes on its wish for /stats.
    void settle(Entry& entry);
    void sweep_timeouts();

    Site site_;
    ServerHooks hooks_;
    courier::Fd epoll_;
    courier::Fd wake_;  ///< an eventfd: adopt and stats_ready wake the loop with it
    std::mutex mutex_;  // guards arrivals_, answers_
    std::vector<Arrival> arrivals_;
    std::vector<StatsAnswer> answers_;
    std::atomic<bool> stopping_{false};
    std::unordered_map<std::uint64_t, Entry> connections_;  ///< the loop's own
    std::thread thread_;
};

}  // namespace httpd
