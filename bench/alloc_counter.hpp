#pragma once
/// @file
/// Counts the heap allocations of this process: courier-bench replaces the global
/// operator new (alloc_counter.cpp). Counting is off until enable() (one relaxed load per
/// allocation otherwise); each thread counts in its own slot, so counting does not make
/// the threads of a node contend on one cache line.

#include <cstdint>

namespace courier::bench::alloc_counter {

void enable() noexcept;
/// Allocations by every thread of the process so far (while enabled).
std::uint64_t total() noexcept;
/// Between the marks of the measured window: with COURIER_BENCH_ALLOC_TRACE=N in the
/// environment, the call stacks of the first N allocations counted meanwhile go to
/// stderr (`addr2line -e courier-bench` or gdb's `info symbol` names the frames), to find
/// what still allocates per message.
void trace(bool on) noexcept;

/// While alive, allocations of this thread are not counted: the bench's own message
/// construction is not the framework's.
class Pause {
  public:
    Pause() noexcept;
    ~Pause();
    Pause(const Pause&) = delete;
    Pause& operator=(const Pause&) = delete;
};

}  // namespace courier::bench::alloc_counter
