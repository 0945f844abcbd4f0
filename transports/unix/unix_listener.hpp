#pragma once
/// @file
/// The listening side of unix:. Private to courier_transports.

#include "src/created_name.hpp"
#include "src/unix_socket_address.hpp"

#include <courier/fd.hpp>
#include <courier/transports/listener.hpp>
#include <courier/transports/transport.hpp>

#include <memory>
#include <string>

namespace courier::detail {

class UnixListener final : public Listener {
  public:
    static std::unique_ptr<Listener> bind(const Endpoint& endpoint,
                                          const TransportOptions& options);

    const Endpoint& endpoint() const noexcept override { return endpoint_; }
    int poll_fd() const noexcept override { return socket_.get(); }
    std::unique_ptr<Link> accept() override;

    UnixListener(Endpoint endpoint, const TransportOptions& options, Fd socket, CreatedName file);

  private:
    Endpoint endpoint_;
    TransportOptions options_;
    // Destroyed in reverse order: the socket closes first, then its file is removed (if
    // it is still the one this listener made: a successor that replaced it keeps its own).
    CreatedName file_;
    Fd socket_;
};

}  // namespace courier::detail
