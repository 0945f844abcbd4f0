#include "metrics_server.hpp"

#include <courier/framework/error.hpp>
#include <courier/log.hpp>

#include <httplib.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <exception>
#include <utility>

namespace courier::detail {

namespace {

/// The content type of Prometheus' text exposition format.
constexpr const char* exposition_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

Expected<MetricsAddress, std::string> parse_metrics_address(std::string_view text) {
    const auto refuse = [&](std::string_view why) -> Expected<MetricsAddress, std::string> {
        // Appended, not a chain of +: g++ 12 warns falsely (-Wrestrict) on that one.
        std::string message = "\"";
        message.append(text).append("\" is not host:port (").append(why);
        message.append("), e.g. 127.0.0.1:9464");
        return Unexpected{std::move(message)};
    };
    MetricsAddress address;
    std::string_view port;
    if (text.starts_with('[')) {
        const auto close = text.find("]:");
        if (close == std::string_view::npos) return refuse("an IPv6 host is [address]:port");
        address.host = std::string(text.substr(1, close - 1));
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return refuse("no port");
        if (text.substr(0, colon).find(':') != std::string_view::npos)
            return refuse("an IPv6 host goes in brackets: [::1]:9464");
        address.host = std::string(text.substr(0, colon));
        port = text.substr(colon + 1);
    }
    if (address.host.empty()) return refuse("no host");
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), address.port);
    if (port.empty() || error != std::errc{} || end != port.data() + port.size())
        return refuse("the port is a number from 0 to 65535");
    return address;
}

/// httplib's Server, able to close its listening socket before its accept loop runs:
/// httplib's own stop() does nothing until listen_after_bind() has marked the server
/// running, so a stop right after the start would be lost and the join would hang. The
/// accept loop checks the socket at each turn and ends once it is closed.
struct MetricsServer::Http final : httplib::Server {
    void close_listener() noexcept {
        const auto socket = svr_sock_.exchange(INVALID_SOCKET);
        if (socket == INVALID_SOCKET) return;
        ::shutdown(socket, SHUT_RDWR);  // wakes the accept loop's poll
        ::close(socket);
    }
};

MetricsServer::MetricsServer(const std::string& address, const std::string& node,
                             std::function<std::string()> render)
    : http_(std::make_unique<Http>()) {
    const auto parsed = parse_metrics_address(address);
    if (!parsed)
        throw SetupError(ErrorCode::bad_config,
                         "node '" + node + "': metrics_address " + parsed.error());
    auto& http = *http_;
    http.new_task_queue = [] { return new httplib::ThreadPool(1); };
    // Only SO_REUSEADDR (a restarted node binds its port at once, past TIME_WAIT): the
    // default adds SO_REUSEPORT, with which a second node on the same port would bind it
    // too, and the kernel would spread the scrapes over both.
    http.set_socket_options([](socket_t socket) {
        const int yes = 1;
        ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    http.set_keep_alive_max_count(1);
    http.set_keep_alive_timeout(1);
    http.set_read_timeout(1);
    http.set_write_timeout(1);
    http.Get("/metrics",
             [render = std::move(render)](const httplib::Request&, httplib::Response& response) {
                 response.set_content(render(), exposition_type);
             });

    int port = parsed->port;
    if (port == 0)
        port = http.bind_to_any_port(parsed->host);
    else if (!http.bind_to_port(parsed->host, port))
        port = -1;
    if (port < 0)
        throw SetupError(ErrorCode::os_error,
                         "node '" + node + "': cannot serve metrics on " + address +
                             ": the port is in use, or the host is no address of this machine");
    const bool ipv6 = parsed->host.find(':') != std::string::npos;
    endpoint_ = (ipv6 ? "[" + parsed->host + "]" : parsed->host) + ":" + std::to_string(port);
    // Listening already (bind_to_port listens): a scrape from now on waits in the
    // backlog until the loop accepts it.
    thread_ = std::thread([this] {
        ::pthread_setname_np(::pthread_self(), "courier-metrics");
        if (!http_->listen_after_bind() && !stopping_.load())
            log().error("metrics on {}: the server stopped on an error", endpoint_);
    });
}

MetricsServer::~MetricsServer() {
    stop();
}

void MetricsServer::stop() noexcept {
    std::call_once(stopped_, [this] {
        stopping_.store(true);
        http_->close_listener();
        if (thread_.joinable()) thread_.join();
    });
}

}  // namespace courier::detail
