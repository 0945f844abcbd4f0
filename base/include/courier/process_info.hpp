#pragma once
/// @file
/// Processes of this host as /proc shows them. A pid alone names a process only while it
/// lives (the kernel reuses pids); with the process's start time it names one for good.

#include <cstdint>
#include <optional>

namespace courier {

/// When process `pid` started (clock ticks since boot, /proc/<pid>/stat field 22); nullopt
/// when no such process runs: gone, or a zombie whose parent has not reaped it yet.
std::optional<std::uint64_t> process_start_time(std::int64_t pid);

/// True while the process `pid` that started at `start_time` runs. A start time of 0
/// (unknown) compares the pid only.
bool process_alive(std::int64_t pid, std::uint64_t start_time = 0);

}  // namespace courier
