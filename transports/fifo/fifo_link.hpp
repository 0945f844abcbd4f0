#pragma once
/// @file
/// A link of the fifo: transport: the shared stream framing over a pair of FIFO ends,
/// plus the rendezvous control connection that tells whether the peer lives. Private
/// to courier_transports.

#include "src/rendezvous.hpp"
#include "src/stream_framing.hpp"

#include <courier/fd.hpp>
#include <courier/transports/link.hpp>
#include <courier/transports/transport.hpp>

#include <optional>
#include <string>

namespace courier::detail {

class FifoLink final : public Link {
  public:
    /// `read_end` and `write_end` are non-blocking FIFO ends already unlinked.
    FifoLink(Fd read_end, Fd write_end, ControlChannel control, const TransportOptions& options,
             std::string peer);

    const Capabilities& capabilities() const noexcept override { return stream_.capabilities(); }
    /// Readable when the FIFO has bytes or the control connection has news.
    int poll_fd() const noexcept override { return poll_.fd(); }
    std::span<const int> poll_members() const noexcept override { return poll_.members(); }
    /// FIFOs have no priorities: every frame keeps send order.
    void send(std::span<const std::byte> bytes, std::span<const int> fds = {}, std::uint8_t = 0,
              bool more = false) override {
        stream_.send(bytes, fds, 0, more);
    }
    /// A large Bytes goes from the message's memory with the frame's other pieces, as on
    /// every stream link.
    void send_parts(std::span<const std::span<const std::byte>> parts,
                    std::span<const int> fds = {}, std::uint8_t = 0, bool more = false) override {
        stream_.send_parts(parts, fds, 0, more);
    }
    void flush() override { stream_.flush(); }
    ReceiveStatus receive(std::vector<Frame>& out) override;
    std::string peer() const override { return stream_.peer(); }
    pid_t peer_pid() const noexcept override { return control_.peer_pid(); }

  private:
    ReceiveStatus finish(ReceiveStatus status);

    ControlChannel control_;  // declared first: stream_ watches its descriptor
    StreamLink stream_;
    PollSet poll_;
    std::optional<ReceiveStatus> ended_;
};

/// "fifo:/path (pid 42, uid 1000)": our endpoint, and the process the control
/// connection's credentials name.
std::string describe_rendezvous_peer(const Endpoint& endpoint, const ControlChannel& control);

}  // namespace courier::detail
