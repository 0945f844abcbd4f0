#pragma once
/// @file
/// How many workers a node runs and how long they spin, from its CPU budget
/// (NodeOptions::cpus, threads, worker_spin).

#include <courier/framework/node.hpp>

#include <chrono>
#include <cstddef>

namespace courier::detail {

struct ThreadSizing {
    double cpus = 1;  ///< the budget it was sized for
    std::size_t threads = 1;
    std::chrono::microseconds spin{0};
    bool yielding = false;  ///< spin by yielding the CPU (Scheduler)

    /// With fewer than 2 whole CPUs the reactor and the workers share one: a worker that
    /// spins keeps the reactor, which holds the next frame, off it until the kernel's time
    /// slice ends (milliseconds). So there is one worker, and it spins yielding, only for
    /// links polled in memory (Scheduler). Otherwise 2 workers (more rarely pay: a turn is
    /// short, and each idle worker spins), spinning as the options say. Explicit threads
    /// win; how they spin follows the CPUs either way.
    static ThreadSizing of(const NodeOptions& options);
};

}  // namespace courier::detail
