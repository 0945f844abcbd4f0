#include "src/rendezvous.hpp"

#include "src/unix_socket_address.hpp"
#include "unix/unix_transport.hpp"

#include <courier/log.hpp>
#include <courier/posix_call.hpp>

#include <spdlog/spdlog.h>

#include <poll.h>
#include <sys/epoll.h>

#include <stdexcept>

namespace courier::detail {

Endpoint rendezvous_endpoint(const Endpoint& endpoint) {
    // Abstract names are global to the network namespace; the scheme keeps a fifo:/x
    // and a posixmq:/x apart.
    return Endpoint{"unix", "@courier-rendezvous." + endpoint.scheme + ":" + endpoint.address};
}

bool rendezvous_fits(const Endpoint& endpoint) {
    try {
        (void)UnixAddress::parse(rendezvous_endpoint(endpoint));
        return true;
    } catch (const std::invalid_argument&) {
        return false;
    }
}

namespace {

/// The control connection is a unix: link, but the settings are another transport's:
/// it takes the generic options only.
TransportOptions control_options(const TransportOptions& options) {
    TransportOptions control;
    control.max_frame_size = options.max_frame_size;
    return control;
}

}  // namespace

PollSet::PollSet()
    : epoll_(static_cast<int>(COURIER_SYSCALL(::epoll_create1, EPOLL_CLOEXEC).value_or_throw())) {}

void PollSet::add(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    COURIER_SYSCALL(::epoll_ctl, epoll_.get(), EPOLL_CTL_ADD, fd, &ev)
        .value_or_throw("add to a link's poll set");
    members_.push_back(fd);
}

void ControlChannel::send_setup(std::span<const std::byte> bytes, std::span<const int> fds) {
    link_->send(bytes, fds);
}

Frame ControlChannel::receive_setup(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<Frame> frames;
    for (;;) {
        auto status = link_->receive(frames);
        if (!frames.empty()) {
            if (frames.size() > 1) throw LinkError("rendezvous: more than one setup frame");
            return std::move(frames.front());
        }
        if (status.state != ReceiveStatus::State::open)
            throw LinkError("rendezvous: the listener closed before setting up the link" +
                            (status.reason.empty() ? std::string() : ": " + status.reason));
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
        if (left.count() <= 0)
            throw LinkError("rendezvous: no setup frame from the listener in time");
        pollfd p{link_->poll_fd(), POLLIN, 0};
        (void)COURIER_SYSCALL(::poll, &p, nfds_t{1}, static_cast<int>(left.count()));
    }
}

ReceiveStatus ControlChannel::check() {
    std::vector<Frame> frames;
    auto status = link_->receive(frames);
    if (!frames.empty() && status.state == ReceiveStatus::State::open)
        return {ReceiveStatus::State::failed, "unexpected frame on a rendezvous control link"};
    return status;
}

RendezvousListener::RendezvousListener(Endpoint endpoint, const TransportOptions& options,
                                       LinkFactory make_link)
    : endpoint_(std::move(endpoint)),
      control_(UnixTransport::listen(rendezvous_endpoint(endpoint_), control_options(options))),
      make_link_(std::move(make_link)) {}

std::unique_ptr<Link> RendezvousListener::accept() {
    while (auto control = control_->accept()) {
        try {
            return make_link_(ControlChannel(std::move(control)));
        } catch (const std::exception& e) {
            // One connector's failed setup must not stop the listener.
            log().warn("{}: setting up a link failed: {}", endpoint_.to_string(), e.what());
        }
    }
    return nullptr;
}

RendezvousConnection rendezvous_connect(const Endpoint& endpoint, const TransportOptions& options,
                                        std::chrono::milliseconds timeout) {
    ControlChannel control(
        UnixTransport::connect(rendezvous_endpoint(endpoint), control_options(options)));
    Frame setup = control.receive_setup(timeout);
    return RendezvousConnection{std::move(control), std::move(setup)};
}

}  // namespace courier::detail
