#pragma once
/// @file
/// What a transport can do; the framework reads these instead of naming schemes.

#include <cstddef>
#include <limits>

namespace courier {

struct Capabilities {
    /// Largest frame the mechanism moves in one piece; larger frames must be fragmented
    /// by the shared layer. Stream transports have no native limit.
    std::size_t native_frame_limit = std::numeric_limits<std::size_t>::max();
    bool fd_passing = false;  ///< can carry file descriptors with a frame
    bool priorities = false;  ///< delivers higher-priority frames first
    bool cross_host = false;  ///< can connect nodes on different hosts
    /// Link::input_pending() reads memory, no system call: an idle thread may spin on it
    /// and take frames without the wake-up through poll_fd() (shm:).
    bool memory_polling = false;
    /// With memory_polling: a thread of the link's own puts the frames in memory (sysv:'s
    /// waiter, the one blocked in msgrcv). A poller then gives its CPU up at each turn
    /// (sched_yield), or it may keep that very thread waiting for a CPU.
    bool handover_thread = false;
};

}  // namespace courier
