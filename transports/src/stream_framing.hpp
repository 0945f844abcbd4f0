#pragma once
/// @file
/// Frames over a connected byte stream (Unix or TCP socket, or a pair of pipe ends),
/// shared by every stream transport. Private to courier_transports.
///
/// Wire format: a 4-byte little-endian length, then that many bytes. File descriptors
/// (on transports with fd passing) ride as SCM_RIGHTS on the first byte of their frame.

#include <courier/fd.hpp>
#include <courier/transports/capabilities.hpp>
#include <courier/transports/link.hpp>
#include <courier/transports/transport.hpp>

#include "src/read_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace courier::detail {

/// Size of the length prefix in front of every frame.
inline constexpr std::size_t frame_prefix_size = 4;
/// The kernel's limit on descriptors in one SCM_RIGHTS message (SCM_MAX_FD).
inline constexpr std::size_t max_fds_per_frame = 253;
/// Most bytes a StreamLink keeps from send(..., more = true) before it writes them.
inline constexpr std::size_t send_batch_limit = std::size_t{64} << 10;

class SigpipeBlocked;

/// A Link over a connected SOCK_STREAM socket. The socket must be non-blocking: the
/// reactor reads it, and send() waits for room with poll() instead.
///
/// Batching: frames sent with `more` wait, prefixed, in a buffer of up to
/// send_batch_limit bytes; the frame that would overflow it, a frame sent without
/// `more`, and flush() write the buffer with one write, the frame joining it as a
/// separate iovec (never copied). A frame with descriptors is written on its own, after
/// the buffer, so its SCM_RIGHTS still ride on its first byte.
class StreamLink : public Link {
  public:
    /// `peer` describes the other end for logs; `capabilities.fd_passing` says whether
    /// the socket can carry SCM_RIGHTS (AF_UNIX) or not (TCP).
    StreamLink(Fd socket, Capabilities capabilities, const TransportOptions& options,
               std::string peer);
    /// A Link over two non-blocking pipe ends (FIFOs): frames are read from `read_end` and
    /// written to `write_end`, never with descriptors. A write to a pipe whose reader is
    /// gone fails with EPIPE, never SIGPIPE. `watch_fd`, when not -1, is polled beside a
    /// blocked writer: once it is readable the peer is gone (a rendezvous control socket,
    /// which carries nothing while the peer lives), and send() throws LinkError.
    StreamLink(Fd read_end, Fd write_end, Capabilities capabilities,
               const TransportOptions& options, std::string peer, int watch_fd = -1);

    const Capabilities& capabilities() const noexcept override { return capabilities_; }
    int poll_fd() const noexcept override { return socket_.get(); }
    void send(std::span<const std::byte> bytes, std::span<const int> fds = {},
              std::uint8_t priority = 0, bool more = false) override;
    /// The parts are written with writev from where they are, unless the frame is small
    /// enough to be kept (then they are copied into the batch).
    void send_parts(std::span<const std::span<const std::byte>> parts,
                    std::span<const int> fds = {}, std::uint8_t priority = 0,
                    bool more = false) override;
    void flush() override;
    bool try_flush() override;
    bool try_send(std::span<const std::byte> bytes) override;
    void abort() noexcept override;
    ReceiveStatus receive(std::vector<Frame>& out) override;
    std::string peer() const override { return peer_; }
    /// SO_PEERCRED's pid on a unix: socket; 0 on TCP and pipes.
    pid_t peer_pid() const noexcept override;
    /// True while part of a frame has arrived and the rest has not.
    bool mid_frame() const noexcept { return !in_.empty(); }

  private:
    /// Descriptors that arrived with one recvmsg. The kernel returns them with the read
    /// that ends in their frame's first segment, so they belong to the frame holding the
    /// last byte of that read (stream offset `last_byte`).
    struct FdBatch {
        std::uint64_t last_byte = 0;
        std::vector<Fd> fds;
    };

    /// Writes `parts` back to back, blocking while the stream is full; `fds` ride on the
    /// first byte. Caller holds send_mutex_.
    void write_all(std::span<const std::span<const std::byte>> parts, std::span<const int> fds);
    /// One write of what is left of `parts` after their first `sent` bytes, `fds` riding
    /// on its first byte; returns how many bytes went, 0 when the stream is full. Throws
    /// LinkError. Caller holds send_mutex_, and for a pipe blocks SIGPIPE (`no_sigpipe`).
    std::size_t write_once(std::span<const std::span<const std::byte>> parts,
                           std::span<const int> fds, std::size_t sent, SigpipeBlocked* no_sigpipe);
    /// Writes `pieces` (the kept frames and a frame, prefixed), or only the kept frames
    /// when it is empty, then empties the buffer; on failure marks the link broken. Caller
    /// holds send_mutex_.
    void write_out(std::span<const std::span<const std::byte>> pieces);
    int write_fd() const noexcept { return write_end_ ? write_end_.get() : socket_.get(); }
    void wait_writable();
    /// Reads once; returns a final status on EOF or error, nullopt when it may go on.
    /// `drained`: the stream had no more bytes (EAGAIN, or fewer than asked for).
    std::optional<ReceiveStatus> read_some(bool& drained);
    /// Moves every complete frame from in_ to `out`; a final status if the peer broke
    /// the framing.
    std::optional<ReceiveStatus> extract_frames(std::vector<Frame>& out);
    ReceiveStatus finish(ReceiveStatus status);

    Fd socket_;     ///< the socket, or the read end of a pipe pair
    Fd write_end_;  ///< the write end of a pipe pair; empty for a socket
    int watch_fd_ = -1;
    Capabilities capabilities_;
    std::size_t max_frame_size_;
    std::string peer_;

    std::mutex send_mutex_;
    std::string send_broken_;     ///< why sending failed (the stream is desynchronized); guarded
    std::vector<std::byte> out_;  ///< prefixed frames kept by send(more); guarded
    /// What one write sends: kept frames, a prefix, a frame's parts; reused; guarded.
    std::vector<std::span<const std::byte>> pieces_;

    /// Stream offset of the next byte to read.
    std::uint64_t read_position() const noexcept { return in_offset_ + in_.size() + large_got_; }

    ReadBuffer in_;  ///< bytes read but not yet framed; the first starts a frame
    /// A large frame's bytes, read straight into the buffer the frame will share (no copy
    /// out of in_, which then holds just its prefix; not zero-filled); large_length_ is 0
    /// when none is.
    SharedBytes large_;
    std::size_t large_got_ = 0;  ///< bytes of it received
    std::size_t large_length_ = 0;
    std::uint64_t in_offset_ = 0;         ///< stream offset of in_[0]
    std::deque<FdBatch> in_fds_;          ///< descriptors waiting for their frame to complete
    std::optional<ReceiveStatus> ended_;  ///< set once the link is closed or failed
};

}  // namespace courier::detail
