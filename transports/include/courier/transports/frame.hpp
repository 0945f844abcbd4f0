#pragma once
/// @file
/// A frame: the unit a transport moves, whole and in order. Bytes, and (on transports
/// with fd passing) file descriptors that travel with them.

#include <courier/fd.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace courier {

struct Frame {
    std::vector<std::byte> bytes;
    std::vector<Fd> fds;
    /// On a received frame of a transport with priorities (Capabilities::priorities),
    /// the priority it was sent with; 0 on every other transport.
    std::uint8_t priority = 0;
};

}  // namespace courier
