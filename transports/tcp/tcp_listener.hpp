#pragma once
/// @file
/// The listening side of tcp:. Private to courier_transports.

#include <courier/fd.hpp>
#include <courier/transports/listener.hpp>
#include <courier/transports/transport.hpp>

#include <memory>

namespace courier::detail {

class TcpListener final : public Listener {
  public:
    /// Binds the first address the host resolves to that accepts the bind, with
    /// SO_REUSEADDR, and listens. Port 0 takes a free port; endpoint() reports it.
    static std::unique_ptr<Listener> bind(const Endpoint& endpoint,
                                          const TransportOptions& options);

    const Endpoint& endpoint() const noexcept override { return endpoint_; }
    int poll_fd() const noexcept override { return socket_.get(); }
    std::unique_ptr<Link> accept() override;

    TcpListener(Endpoint endpoint, const TransportOptions& options, Fd socket);

  private:
    Endpoint endpoint_;
    TransportOptions options_;
    Fd socket_;
};

}  // namespace courier::detail
