#pragma once
/// @file
/// A link that can lend large received frames out of its own memory instead of copying
/// them into buffers first. Private to courier_transports: the fragmentation layer, the
/// only user, copies a lent chunk once, into the frame it puts together (or into a buffer
/// of its own), and gives it back at once. Lent frames never go further up.
///
/// Implemented by shm: links, whose ring holds a record in one piece unless it wraps
/// around the ring's end: a 1 MiB frame is then copied once on its way from the ring to
/// the frame, not twice (ring to chunk buffer to frame).

#include <courier/transports/frame.hpp>

#include <cstddef>
#include <span>

namespace courier::detail {

class LendingLink {
  public:
    /// From now on receive() may lend frames. Called once, by the layer that wraps the
    /// link, before its first receive(): a link nobody asked keeps copying.
    virtual void start_lending() noexcept = 0;
    /// Gives back `lent`, the bytes of the oldest frame lent and not given back yet: the
    /// link may reuse its memory at once. Frames are given back in the order they were
    /// received; the next receive() takes back whatever is still lent.
    virtual void give_back(std::span<const std::byte> lent) noexcept = 0;

    /// True for a frame receive() lent: it views the link's memory (Frame::view) and
    /// shares no buffer (Frame::shared is empty, as is Frame::bytes).
    static bool lent(const Frame& frame) noexcept { return !frame.shared && !frame.view.empty(); }

  protected:
    ~LendingLink() = default;
};

}  // namespace courier::detail
