#include "fifo/fifo_link.hpp"

#include "fifo/fifo_transport.hpp"

#include <cstddef>
#include <utility>

namespace courier::detail {

FifoLink::FifoLink(Fd read_end, Fd write_end, ControlChannel control,
                   const TransportOptions& options, std::string peer)
    : control_(std::move(control)),
      stream_(std::move(read_end), std::move(write_end), FifoTransport::capabilities(), options,
              std::move(peer), control_.poll_fd()) {
    poll_.add(stream_.poll_fd());
    poll_.add(control_.poll_fd());
}

ReceiveStatus FifoLink::receive(std::vector<Frame>& out) {
    if (ended_) return *ended_;
    const std::size_t before = out.size();
    ReceiveStatus status = stream_.receive(out);
    if (status.state != ReceiveStatus::State::open) return finish(std::move(status));
    // While frames come the peer lives: the control connection is asked only when the
    // FIFO had none, which saves a system call per receive under load.
    if (out.size() > before) return status;
    const ReceiveStatus control = control_.check();
    if (control.state == ReceiveStatus::State::open) return status;
    // Whatever the peer wrote before it went is in the FIFO by now (never more than its
    // pipe buffer, which one receive takes whole).
    status = stream_.receive(out);
    if (status.state != ReceiveStatus::State::open) return finish(std::move(status));
    // The FIFO has no EOF yet (a forked child may hold the peer's end), but the peer is gone.
    if (stream_.mid_frame()) {
        return finish({ReceiveStatus::State::failed,
                       peer() + " is gone in the middle of a frame (its control connection " +
                           (control.state == ReceiveStatus::State::closed
                                ? "closed)"
                                : "failed: " + control.reason + ")")});
    }
    if (control.state == ReceiveStatus::State::closed) {
        return finish({ReceiveStatus::State::closed, peer() + " closed the link"});
    }
    return finish({ReceiveStatus::State::failed, peer() + ": " + control.reason});
}

ReceiveStatus FifoLink::finish(ReceiveStatus status) {
    ended_ = status;
    return status;
}

std::string describe_rendezvous_peer(const Endpoint& endpoint, const ControlChannel& control) {
    // The control link's peer reads "unix:@courier-rendezvous... (pid P, uid U)".
    const std::string control_peer = control.peer();
    const auto details = control_peer.rfind(" (pid ");
    return endpoint.to_string() +
           (details == std::string::npos ? std::string() : control_peer.substr(details));
}

}  // namespace courier::detail
