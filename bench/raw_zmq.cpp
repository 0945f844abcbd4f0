// ZeroMQ over ipc:// and tcp:// (127.0.0.1 only): not a mechanism under a courier
// transport, but the library users weigh courier against, run through the same loops and
// checks as the raw baselines: PUSH/PULL for throughput, REQ/REP for round trips, one
// zmq_send / zmq_recv per message, default high-water marks.
//
// The orchestrator makes the listening socket (a Unix socket in a private directory, or
// TCP on an ephemeral loopback port) and side b's ZeroMQ socket adopts it (ZMQ_USE_FD):
// the name exists before either peer starts, side a knows where to connect, and the
// orchestrator, its creator, removes it.
#include "raw_fd_stream.hpp"

#include <courier/posix_call.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <zmq.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace courier::bench {

namespace {

enum class Endpoint { ipc, tcp };

[[noreturn]] void zmq_failure(const std::string& what) {
    throw std::runtime_error(what + ": " + zmq_strerror(zmq_errno()));
}

std::string zmq_library_version() {
    int major = 0, minor = 0, patch = 0;
    zmq_version(&major, &minor, &patch);
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

class ZmqWiring final : public Wiring {
  public:
    ZmqWiring(Endpoint endpoint, bool duplex) : pattern_(duplex ? "reqrep" : "pushpull") {
        if (endpoint == Endpoint::ipc) {
            std::string pattern = (std::filesystem::temp_directory_path() / "courier-bench.XXXXXX");
            if (::mkdtemp(pattern.data()) == nullptr)
                throw std::system_error(errno, std::generic_category(), "zmq ipc mkdtemp");
            dir_ = pattern;
            const auto path = (dir_ / "zmq").string();
            sockaddr_un address{};
            address.sun_family = AF_UNIX;
            if (path.size() >= sizeof(address.sun_path))
                throw std::runtime_error("zmq ipc: socket path too long: " + path);
            std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
            listen_on(AF_UNIX, reinterpret_cast<sockaddr*>(&address), sizeof(address));
            endpoint_ = "ipc://" + path;
        } else {
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            socklen_t length = sizeof(address);
            auto* generic = reinterpret_cast<sockaddr*>(&address);
            listen_on(AF_INET, generic, length);
            COURIER_SYSCALL(::getsockname, listener_.get(), generic, &length)
                .value_or_throw("zmq tcp getsockname");
            endpoint_ = "tcp://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
        }
    }
    ~ZmqWiring() override { opened(); }

    /// "<pattern>,<listening fd or -1>,<endpoint>"
    std::string spec(Side side) const override {
        return pattern_ + "," + std::to_string(side == Side::b ? listener_.get() : -1) + "," +
               endpoint_;
    }
    std::vector<int> fds(Side side) const override {
        return side == Side::b ? std::vector<int>{listener_.get()} : std::vector<int>{};
    }
    /// Side a is connected by now (it reports ready only after the handshake): the name
    /// can go.
    void opened() override {
        std::error_code ignored;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
        dir_.clear();
    }

  private:
    void listen_on(int family, const sockaddr* address, socklen_t length) {
        // Non-blocking, as libzmq makes the listeners it creates itself.
        listener_ = Fd(static_cast<int>(
            COURIER_SYSCALL(::socket, family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)
                .value_or_throw("zmq listening socket")));
        COURIER_SYSCALL(::bind, listener_.get(), address, length).value_or_throw("zmq bind");
        COURIER_SYSCALL(::listen, listener_.get(), 16).value_or_throw("zmq listen");
    }

    std::string pattern_;
    std::filesystem::path dir_;
    std::string endpoint_;
    Fd listener_;
};

/// A context with one socket, closed and terminated on destruction.
class ZmqChannel final : public Channel {
  public:
    ZmqChannel(Side side, const std::string& spec) : context_(zmq_ctx_new()) {
        if (context_ == nullptr) zmq_failure("zmq_ctx_new");
        auto [pattern, rest] = split_spec(spec);
        auto [fd, endpoint] = split_spec(rest);
        const bool request = pattern == "reqrep";
        const int type =
            side == Side::a ? (request ? ZMQ_REQ : ZMQ_PUSH) : (request ? ZMQ_REP : ZMQ_PULL);
        socket_ = zmq_socket(context_, type);
        if (socket_ == nullptr) {
            zmq_ctx_term(context_);
            zmq_failure("zmq_socket");
        }
        // Closing waits for what is still queued, but not forever if the peer died.
        set(ZMQ_LINGER, 10'000);
        if (side == Side::b) {
            set(ZMQ_USE_FD, std::stoi(fd));
            if (zmq_bind(socket_, endpoint.c_str()) != 0) zmq_failure("zmq_bind " + endpoint);
        } else {
            connect(endpoint);
        }
    }
    ~ZmqChannel() override {
        zmq_close(socket_);
        zmq_ctx_term(context_);
    }
    ZmqChannel(const ZmqChannel&) = delete;
    ZmqChannel& operator=(const ZmqChannel&) = delete;

    void send(std::span<const std::uint8_t> message) override {
        while (zmq_send(socket_, message.data(), message.size(), 0) < 0)
            if (zmq_errno() != EINTR) zmq_failure("raw zmq_send");
    }
    void receive(std::span<std::uint8_t> out) override {
        int got;
        while ((got = zmq_recv(socket_, out.data(), out.size(), 0)) < 0)
            if (zmq_errno() != EINTR) zmq_failure("raw zmq_recv");
        if (static_cast<std::size_t>(got) != out.size())
            throw std::runtime_error("raw zmq_recv: a message of " + std::to_string(got) +
                                     " bytes where " + std::to_string(out.size()) +
                                     " were expected");
    }

  private:
    void set(int option, int value) {
        if (zmq_setsockopt(socket_, option, &value, sizeof(value)) != 0)
            zmq_failure("zmq_setsockopt " + std::to_string(option));
    }
    /// Connects, and returns once the ZeroMQ handshake is done (the socket's monitor says
    /// so): side a reports ready only then, so the clock does not include connecting.
    /// (Waiting for POLLOUT under ZMQ_IMMEDIATE, tried first, left about one REQ/REP run
    /// in fifteen without its reply; the cause was not found. Without ZMQ_IMMEDIATE the
    /// pipe exists from zmq_connect on and a request waits in it.)
    void connect(const std::string& endpoint) {
        const char* monitor = "inproc://courier-bench-monitor";
        if (zmq_socket_monitor(socket_, monitor, ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0)
            zmq_failure("zmq_socket_monitor");
        void* events = zmq_socket(context_, ZMQ_PAIR);
        if (events == nullptr) zmq_failure("zmq_socket (monitor)");
        const int timeout_ms = 30'000;
        zmq_setsockopt(events, ZMQ_RCVTIMEO, &timeout_ms, sizeof(timeout_ms));
        bool handshaken = false;
        if (zmq_connect(events, monitor) == 0 && zmq_connect(socket_, endpoint.c_str()) == 0) {
            // An event is two frames: the event number and value, then the endpoint.
            zmq_msg_t frame;
            zmq_msg_init(&frame);
            handshaken = zmq_msg_recv(&frame, events, 0) >= 0;
            while (handshaken && zmq_msg_more(&frame) != 0) zmq_msg_recv(&frame, events, 0);
            zmq_msg_close(&frame);
        }
        const int error = zmq_errno();
        zmq_close(events);
        zmq_socket_monitor(socket_, nullptr, 0);
        if (!handshaken)
            throw std::runtime_error("zmq: no handshake with " + endpoint +
                                     " within 30 s: " + zmq_strerror(error));
    }

    void* context_;
    void* socket_ = nullptr;
};

RawMechanism zmq_mechanism(Endpoint endpoint) {
    const bool ipc = endpoint == Endpoint::ipc;
    return {
        ipc ? "zmq-ipc" : "zmq-tcp",
        [ipc] {
            return "ZeroMQ " + zmq_library_version() +
                   (ipc ? " ipc:// in a private directory"
                        : " tcp://127.0.0.1, the library's default TCP options") +
                   ", PUSH/PULL (throughput) and REQ/REP (round trips), default high-water "
                   "marks, one zmq_send/zmq_recv per message";
        },
        [endpoint](bool duplex) -> std::unique_ptr<Wiring> {
            return std::make_unique<ZmqWiring>(endpoint, duplex);
        },
        [](Side side, const std::string& spec) -> std::unique_ptr<Channel> {
            return std::make_unique<ZmqChannel>(side, spec);
        },
    };
}

}  // namespace

RawMechanism raw_zmq_ipc() {
    return zmq_mechanism(Endpoint::ipc);
}

RawMechanism raw_zmq_tcp() {
    return zmq_mechanism(Endpoint::tcp);
}

}  // namespace courier::bench
