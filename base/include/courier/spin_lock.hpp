#pragma once
/// @file
/// A lock for critical sections of a few instructions (a push, a swap). A std::mutex
/// that finds its lock taken sleeps in the kernel at once, and waking it again costs tens
/// of microseconds on a VM whose idle cores halt, far more than the section it waits for.

#include <atomic>
#include <thread>

namespace courier::detail {

/// Tells the CPU we are in a spin loop (saves power, leaves the core to a hyperthread).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

class SpinLock {
  public:
    void lock() noexcept {
        int spins = 0;
        while (locked_.exchange(true, std::memory_order_acquire)) {
            while (locked_.load(std::memory_order_relaxed)) {
                // A holder that was preempted cannot finish while we spin on its core.
                if (++spins < 100)
                    cpu_relax();
                else
                    std::this_thread::yield();
            }
        }
    }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

  private:
    std::atomic<bool> locked_{false};
};

}  // namespace courier::detail
