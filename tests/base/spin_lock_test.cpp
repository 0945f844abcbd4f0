// SpinLock: one holder at a time, however many threads want it (more than there are cores:
// a waiter must let a preempted holder finish).

#include <courier/spin_lock.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

using courier::detail::SpinLock;

TEST_CASE("a spin lock lets one thread at a time through, under contention", "[base][spin_lock]") {
    // More threads than this machine has cores, so holders get preempted while others spin.
    const unsigned threads = std::max(4u, 2 * std::thread::hardware_concurrency());
    constexpr int rounds = 1000000;
    std::latch start(threads);  // all at once: a thread done before the next starts proves nothing
    SpinLock lock;
    long unguarded = 0;  // only the lock keeps its increments whole
    std::atomic<int> inside{0}, most_inside{0};
    {
        std::vector<std::jthread> workers;
        for (unsigned t = 0; t < threads; ++t)
            workers.emplace_back([&] {
                start.arrive_and_wait();
                for (int i = 0; i < rounds; ++i) {
                    {
                        std::lock_guard hold(lock);  // a BasicLockable
                        const int now = inside.fetch_add(1, std::memory_order_relaxed) + 1;
                        if (now > most_inside.load(std::memory_order_relaxed))
                            most_inside.store(now, std::memory_order_relaxed);
                        const long seen = unguarded;
                        courier::detail::cpu_relax();  // a window for another thread
                        unguarded = seen + 1;
                        inside.fetch_sub(1, std::memory_order_relaxed);
                    }
                    // A moment outside: the lock changes hands, rather than its holder
                    // taking it back at once round after round.
                    courier::detail::cpu_relax();
                }
            });
    }
    CHECK(most_inside.load() == 1);
    CHECK(unguarded == static_cast<long>(threads) * rounds);
}
