#pragma once
/// @file
/// Frames larger than a mechanism carries in one piece, split and reassembled by one
/// shared layer. Private to courier_transports; TransportRegistry applies it to every
/// link of a transport whose Capabilities::native_frame_limit is finite, so neither the
/// transport nor the framework ever sees a chunk.
///
/// Wire format: every frame of the upper layer becomes one or more chunks, each one
/// frame of the wrapped link, at most native_frame_limit bytes:
///
///     byte 0        flags: bit 0 = first chunk, bit 1 = last chunk, bits 2..7 = 0
///     bytes 1..8    (first chunk of a frame of several chunks only) the frame's total
///                   length, 64-bit little-endian
///     the rest      the next bytes of the frame
///
/// A frame that fits (size + 1 <= limit) is one chunk flagged first|last, with no
/// length. Descriptors travel with the first chunk. Every chunk of a frame is sent with
/// the frame's priority; on a mechanism with priorities the chunks of frames of
/// different priorities may then arrive interleaved, so the receiver puts frames
/// together per priority (Frame::priority), each priority in order.
///
/// Small frames sent with `more` (and no descriptors) are packed, several whole frames
/// in one chunk, so that they cost one system call of the mechanism instead of one each:
///
///     byte 0        flags: exactly bit 2 (packed)
///     then, once per frame, at least once:
///       4 bytes     the frame's length, 32-bit little-endian
///       n bytes     the frame
///
/// A pack holds frames of one priority, in send order; it is sent when the next frame
/// does not fit or has another priority or descriptors, on a send without `more`, and
/// on flush(). docs/transports/contract.md, "Frames larger than the mechanism", and
/// docs/protocol.md are the prose version.

#include "src/lending_link.hpp"

#include <courier/transports/link.hpp>
#include <courier/transports/listener.hpp>
#include <courier/transports/transport.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace courier::detail {

/// Flag bits of a chunk's first byte.
inline constexpr std::uint8_t chunk_first = 0x01;
inline constexpr std::uint8_t chunk_last = 0x02;
inline constexpr std::uint8_t chunk_packed = 0x04;
/// Bytes in front of the payload: flags, plus the total length on a first chunk.
inline constexpr std::size_t chunk_header_size = 1;
inline constexpr std::size_t first_chunk_header_size = 1 + 8;
/// The smallest native limit the layer works with: a first chunk must carry a byte.
inline constexpr std::size_t min_chunk_limit = first_chunk_header_size + 1;
/// Bytes in front of each frame of a packed chunk: its length.
inline constexpr std::size_t packed_length_size = 4;
/// The largest packed chunk, where the native limit is larger: packs exist to save
/// system calls, and a batch this size already makes their cost small per frame.
inline constexpr std::size_t max_pack_size = 64 * 1024;

/// A Link that carries frames up to max_frame_size over a link whose frames are limited
/// to its capabilities().native_frame_limit.
class FragmentingLink final : public Link {
  public:
    /// Throws std::invalid_argument if the inner link's limit is below min_chunk_limit.
    FragmentingLink(std::unique_ptr<Link> inner, const TransportOptions& options);

    /// The inner link's: native_frame_limit still tells what the mechanism moves whole.
    const Capabilities& capabilities() const noexcept override { return inner_->capabilities(); }
    int poll_fd() const noexcept override { return inner_->poll_fd(); }
    std::span<const int> poll_members() const noexcept override { return inner_->poll_members(); }
    /// Sends the chunks of one frame under one lock, each with the frame's priority, so
    /// the chunks of two frames never interleave within one priority. With `more`, a
    /// small frame is kept in the pack instead (see the wire format above).
    void send(std::span<const std::byte> bytes, std::span<const int> fds = {},
              std::uint8_t priority = 0, bool more = false) override;
    /// As send(), with the frame's bytes taken from `parts` where they are: each chunk goes
    /// to the inner link as its header and the pieces of the parts it holds.
    void send_parts(std::span<const std::span<const std::byte>> parts,
                    std::span<const int> fds = {}, std::uint8_t priority = 0,
                    bool more = false) override;
    /// Sends the pack, if any, and flushes the inner link.
    void flush() override;
    ReceiveStatus receive(std::vector<Frame>& out) override;
    bool input_pending() const noexcept override { return inner_->input_pending(); }
    void set_polled(bool polled) noexcept override { inner_->set_polled(polled); }
    std::string peer() const override { return inner_->peer(); }
    pid_t peer_pid() const noexcept override { return inner_->peer_pid(); }

  private:
    /// A frame whose last chunk is still due, and its announced total length.
    struct Assembly {
        Frame frame;
        std::uint64_t expected = 0;
    };

    /// Adds one chunk to the frame being assembled in its priority's lane; a reason if
    /// the chunk is invalid.
    std::optional<std::string> take_chunk(Frame& chunk, std::vector<Frame>& out);
    /// Appends the frames of a packed chunk, which they share (Frame::shared), or none and
    /// a reason if it is malformed.
    std::optional<std::string> take_pack(Frame& chunk, std::vector<Frame>& out) const;
    /// Adds a frame of `size` bytes, made of `parts`, to the pack; the caller checked it fits.
    void add_to_pack(std::span<const std::span<const std::byte>> parts, std::size_t size,
                     std::uint8_t priority);
    /// Sends the pack as one chunk; if that fails its frames are lost and the link broken.
    void send_pack(bool more);
    ReceiveStatus finish(ReceiveStatus status);

    std::unique_ptr<Link> inner_;
    /// The inner link, if it lends its large chunks (LendingLink): each is copied once,
    /// into the frame it belongs to, and given back at once.
    LendingLink* lender_ = nullptr;
    std::size_t limit_;           ///< largest chunk, header included
    std::size_t max_frame_size_;  ///< largest reassembled frame

    std::mutex send_mutex_;
    std::string send_broken_;         ///< why a frame was cut short; guarded
    std::vector<std::byte> pack_;     ///< a packed chunk being built, or empty; guarded
    std::uint8_t pack_priority_ = 0;  ///< the priority of the frames in pack_; guarded
    std::size_t pack_limit_;          ///< largest packed chunk
    /// The parts of the chunk being sent: its header and pieces of the frame; guarded.
    std::vector<std::span<const std::byte>> chunk_parts_;

    std::vector<Frame> chunks_;                    ///< what the inner link delivered; reused
    std::map<std::uint8_t, Assembly> assembling_;  ///< by priority (lane)
    /// The map node of the last frame completed, reused for the next: no allocation per
    /// fragmented frame.
    std::map<std::uint8_t, Assembly>::node_type spare_lane_;
    std::optional<ReceiveStatus> ended_;  ///< set once closed or failed
};

/// Wraps every link a listener accepts in a FragmentingLink.
class FragmentingListener final : public Listener {
  public:
    FragmentingListener(std::unique_ptr<Listener> inner, const TransportOptions& options);

    const Endpoint& endpoint() const noexcept override { return inner_->endpoint(); }
    int poll_fd() const noexcept override { return inner_->poll_fd(); }
    std::unique_ptr<Link> accept() override;

  private:
    std::unique_ptr<Listener> inner_;
    TransportOptions options_;
};

/// True when links of a transport with these capabilities need the layer.
bool needs_fragmenting(const Capabilities& capabilities) noexcept;
/// The options the wrapped transport is opened with: its frames are chunks, so its own
/// max_frame_size is the native limit, whatever the upper layer's is.
TransportOptions chunk_options(const Capabilities& capabilities, const TransportOptions& options);

}  // namespace courier::detail
