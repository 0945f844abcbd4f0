#pragma once
/// @file
/// How links are set up over mechanisms that have no connections of their own: FIFOs,
/// POSIX and System V message queues, shared memory. Private to courier_transports;
/// docs/transports/rendezvous.md explains the design.
///
/// The listener of `fifo:/x` (say) listens on a unix: socket derived from its endpoint.
/// A connector connects there. The listener creates the mechanism's objects for this one
/// link and hands them over in a single setup frame — file descriptors by SCM_RIGHTS
/// where the mechanism has them (FIFOs, message queue descriptors, memfd/shm), ids
/// otherwise — so named objects can be unlinked as soon as they are open and nothing is
/// left behind, even after SIGKILL. The unix: connection then stays open, carrying
/// nothing: its end is how each side learns, within one poll, that the other died.

#include <courier/fd.hpp>
#include <courier/transports/endpoint.hpp>
#include <courier/transports/link.hpp>
#include <courier/transports/listener.hpp>
#include <courier/transports/transport.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace courier::detail {

/// The unix: endpoint where connectors of `endpoint` meet its listener: an abstract
/// address, so it leaves no file behind.
Endpoint rendezvous_endpoint(const Endpoint& endpoint);
/// Whether the name of that address is short enough for a socket (sun_path): a transport
/// checks its endpoints with it, so a long one is refused where it is given.
bool rendezvous_fits(const Endpoint& endpoint);

/// One descriptor that is readable when any of its members is (an epoll set), to give a
/// link made of several descriptors a single poll_fd().
class PollSet {
  public:
    PollSet();
    void add(int fd);
    int fd() const noexcept { return epoll_.get(); }
    /// The descriptors added (Link::poll_members).
    std::span<const int> members() const noexcept { return members_; }

  private:
    Fd epoll_;
    std::vector<int> members_;
};

/// The control connection of a rendezvous link: carries the setup frame, then only
/// tells whether the peer still lives.
class ControlChannel {
  public:
    explicit ControlChannel(std::unique_ptr<Link> link) : link_(std::move(link)) {}

    /// Sends the setup frame (listener side).
    void send_setup(std::span<const std::byte> bytes, std::span<const int> fds = {});
    /// Waits up to `timeout` for the setup frame (connector side). Throws LinkError if
    /// the listener closes or does not answer in time.
    Frame receive_setup(std::chrono::milliseconds timeout);
    /// Without blocking: `open` while the peer lives, `closed`/`failed` once it is gone.
    /// Any frame after the setup is a protocol violation (`failed`).
    ReceiveStatus check();
    /// Readable when check() has news.
    int poll_fd() const noexcept { return link_->poll_fd(); }
    std::string peer() const { return link_->peer(); }
    pid_t peer_pid() const noexcept { return link_->peer_pid(); }

  private:
    std::unique_ptr<Link> link_;
};

/// A listener for a connectionless mechanism: accepts control connections on the
/// rendezvous endpoint and turns each into a link with `make_link`, which creates the
/// link's objects and sends the setup frame (it must not block).
class RendezvousListener final : public Listener {
  public:
    using LinkFactory = std::function<std::unique_ptr<Link>(ControlChannel)>;

    RendezvousListener(Endpoint endpoint, const TransportOptions& options, LinkFactory make_link);

    const Endpoint& endpoint() const noexcept override { return endpoint_; }
    int poll_fd() const noexcept override { return control_->poll_fd(); }
    std::unique_ptr<Link> accept() override;

  private:
    Endpoint endpoint_;
    std::unique_ptr<Listener> control_;
    LinkFactory make_link_;
};

/// Connector side: connects to the rendezvous of `endpoint` and waits for the setup
/// frame. Throws std::system_error if nobody listens, LinkError if setup fails.
struct RendezvousConnection {
    ControlChannel control;
    Frame setup;
};
RendezvousConnection rendezvous_connect(
    const Endpoint& endpoint, const TransportOptions& options,
    std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace courier::detail
