#pragma once
/// @file
/// A link of the posixmq: transport: one queue descriptor to read, one to write, and
/// the rendezvous control connection that tells whether the peer lives. Private to
/// courier_transports.

#include "src/rendezvous.hpp"

#include <courier/fd.hpp>
#include <courier/transports/link.hpp>
#include <courier/transports/shared_bytes.hpp>
#include <courier/transports/transport.hpp>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace courier::detail {

class PosixMqLink final : public Link {
  public:
    /// `in` and `out` are non-blocking queue descriptors whose names are already gone.
    /// Throws std::system_error if they are not message queues.
    PosixMqLink(Fd in, Fd out, ControlChannel control, const TransportOptions& options,
                std::string peer);

    const Capabilities& capabilities() const noexcept override { return capabilities_; }
    /// Readable when the queue holds a message or the control connection has news.
    int poll_fd() const noexcept override { return poll_.fd(); }
    std::span<const int> poll_members() const noexcept override { return poll_.members(); }
    /// One frame, one message, sent with the frame's priority as the message's (the
    /// queue delivers the highest first). Waits for room while the queue is full, and
    /// throws LinkError if the peer goes meanwhile (noticed within 10 ms).
    void send(std::span<const std::byte> bytes, std::span<const int> fds = {},
              std::uint8_t priority = 0, bool more = false) override;
    ReceiveStatus receive(std::vector<Frame>& out) override;
    std::string peer() const override { return peer_; }
    pid_t peer_pid() const noexcept override { return control_.peer_pid(); }

  private:
    /// Called when a send found the queue full for a while: throws LinkError if the peer
    /// is gone.
    void check_peer_while_full();
    /// Moves up to max_batch messages from the queue to `out` and counts them in
    /// `taken`; `drained` once it found the queue empty. The reason if the link failed
    /// (the messages taken before stay in `out`).
    std::optional<std::string> take_messages(std::vector<Frame>& out, std::size_t& taken,
                                             bool& drained);
    ReceiveStatus finish(ReceiveStatus status);

    Fd in_;
    Fd out_;
    ControlChannel control_;
    PollSet poll_;
    Capabilities capabilities_;
    std::size_t msgsize_;         ///< the queues' mq_msgsize
    std::size_t max_frame_size_;  ///< TransportOptions::max_frame_size
    std::string peer_;

    std::mutex send_mutex_;
    std::string send_broken_;  ///< why sending stopped for good; guarded
    /// Set by receive() once it saw the peer's end: a queue has no reader count to make
    /// mq_send fail, so later sends learn it here (or while waiting on a full queue).
    std::atomic<bool> peer_gone_{false};

    /// A buffer of mq_msgsize bytes that messages are received into (mq_receive wants room
    /// for the largest), shared with the frames that view it.
    struct Slot {
        SharedBytes shared;
        std::byte* data = nullptr;  ///< its bytes; written only while no frame holds it
    };
    Slot make_slot() const;

    /// Receive slots. A message that fills its slot (every chunk of a large frame but
    /// the last) goes up as a view of it (Frame::shared), not copied: the fragmentation
    /// layer copies it once, into the frame it puts together, and drops it, so the slot
    /// is free again at the next receive(). A shorter message is copied into a buffer of
    /// its own, so that a frame never keeps more memory alive than it fills.
    std::vector<Slot> slots_;
    std::size_t max_slots_;                  ///< slots lent in one receive(), at most
    std::optional<ReceiveStatus> peer_end_;  ///< what the control connection said, once it ended
    std::optional<ReceiveStatus> ended_;
};

/// "posixmq:/name (pid 42, uid 1000)": our endpoint, and the process the control
/// connection's credentials name.
std::string describe_posixmq_peer(const Endpoint& endpoint, const ControlChannel& control);

}  // namespace courier::detail
