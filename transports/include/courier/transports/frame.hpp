#pragma once
/// @file
/// A frame: the unit a transport moves, whole and in order. Bytes, and (on transports
/// with fd passing) file descriptors that travel with them.

#include <courier/fd.hpp>
#include <courier/transports/shared_bytes.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace courier {

struct Frame {
    /// The frame's bytes, in a buffer of its own: what a link reads and what is sent.
    std::vector<std::byte> bytes;
    /// Or, on a received frame that shares a buffer (the frames of a packed chunk, of one
    /// stream read, a posixmq piece that fills its receive slot): that buffer, and where
    /// this frame lies in it. `bytes` is empty then.
    SharedBytes shared;
    std::span<const std::byte> view;
    std::vector<Fd> fds;
    /// On a received frame of a transport with priorities (Capabilities::priorities),
    /// the priority it was sent with; 0 on every other transport.
    std::uint8_t priority = 0;

    /// The frame's bytes, wherever they are: read received frames through this.
    std::span<const std::byte> data() const noexcept {
        return shared ? view : std::span<const std::byte>(bytes);
    }
};

}  // namespace courier
