#pragma once
/// @file
/// The resident memory of this process, as the kernel counts it (/proc/self/status): the
/// slow-receiver scenario reports it for both ends, since a queue that grows without
/// bound shows there first.

#include <cstdint>
#include <optional>

namespace courier::bench {

struct MemoryUsage {
    std::uint64_t peak_kib = 0;  ///< VmHWM: the most this process has been resident
    std::uint64_t now_kib = 0;   ///< VmRSS: resident now
};

/// This process's VmHWM and VmRSS; nullopt when /proc cannot tell.
std::optional<MemoryUsage> memory_of_this_process();

}  // namespace courier::bench
