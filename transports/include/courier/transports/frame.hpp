#pragma once
/// @file
/// A frame: the unit a transport moves, whole and in order. Bytes, and (on transports
/// with fd passing) file descriptors that travel with them.

#include <courier/fd.hpp>

#include <cstddef>
#include <vector>

namespace courier {

struct Frame {
    std::vector<std::byte> bytes;
    std::vector<Fd> fds;
};

}  // namespace courier
