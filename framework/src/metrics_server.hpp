#pragma once
/// @file
/// The HTTP side of a node's metrics (NodeOptions::metrics_address): cpp-httplib serving
/// GET /metrics with the text metrics_text.hpp renders; any other path is 404. Two threads:
/// httplib's accept loop and one worker that answers, one connection at a time. A scrape
/// every few seconds needs no more, and a node's threads are its actors'. Each connection
/// carries one request and closes (no keep-alive), so one scraper that keeps its
/// connection open cannot hold the one worker from another; and a connection that sends
/// nothing is dropped after a second, which also bounds how long stop() waits for it.
///
/// No authentication and no TLS: whoever reaches the port reads the metrics (node, actor
/// and peer names, counts). Serve on loopback unless a scraper elsewhere needs it.

#include <courier/expected.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace courier::detail {

/// A metrics_address taken apart: "127.0.0.1:9464", "localhost:0", "[::1]:9464".
struct MetricsAddress {
    std::string host;        ///< a name or numeric address, without the brackets of an IPv6 one
    std::uint16_t port = 0;  ///< 0: the kernel picks one
};

/// Reads "host:port" (an IPv6 host in brackets); else why it is not one. Only the form:
/// whether the host can be listened on is known when the server binds it.
Expected<MetricsAddress, std::string> parse_metrics_address(std::string_view text);

class MetricsServer {
  public:
    /// Listens on `address` and serves what `render` returns, from a thread of the
    /// server's. `render` runs on the server's worker, at each scrape. Throws SetupError:
    /// bad_config when `address` is not "host:port", os_error when it cannot be listened
    /// on (the port is in use, the host is no address of this machine). `node`: for the
    /// errors' message.
    MetricsServer(const std::string& address, const std::string& node,
                  std::function<std::string()> render);
    /// stop().
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    /// "host:port" with the port listened on (the kernel's pick for port 0).
    const std::string& endpoint() const noexcept { return endpoint_; }
    /// Closes the listening socket and joins the threads: a scrape being answered ends
    /// first (at most about a second for a client that stalls). Idempotent; a second
    /// caller waits for the first.
    void stop() noexcept;

  private:
    struct Http;
    std::unique_ptr<Http> http_;
    std::string endpoint_;
    std::atomic<bool> stopping_{false};  ///< an accept loop ending now is no error
    std::once_flag stopped_;
    std::thread thread_;  ///< httplib's accept loop (listen_after_bind)
};

}  // namespace courier::detail
