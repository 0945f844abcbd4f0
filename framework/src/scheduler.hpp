#pragma once
/// @file
/// The thread pool that runs actors. An actor with letters is queued once (its cell's
/// `scheduled` flag guards that), so it runs on one thread at a time.
///
/// An idle worker spins on the ready queue for a short while before it sleeps: on a VM
/// whose idle cores halt, waking a sleeping thread costs tens of microseconds, so a
/// hand-off between two actors stays fast only if the thread it goes to is still awake.

#include "spin_lock.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

namespace courier::detail {

struct ActorCell;

class Scheduler {
  public:
    /// `spin`: how long an idle worker polls for work before it sleeps (0: sleep at once).
    Scheduler(std::size_t threads, std::chrono::microseconds spin);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    /// Queues a cell to run its mailbox. Called only by the one who set its flag.
    void schedule(std::shared_ptr<ActorCell> cell);
    /// Lets the workers finish the cell they run, then joins them.
    void stop();

  private:
    void work();
    /// The next cell to run: spins, then sleeps; null when stopping.
    std::shared_ptr<ActorCell> next();
    /// Polls the ready queue for up to `spin_`; null if it stayed empty.
    std::shared_ptr<ActorCell> spin();
    std::shared_ptr<ActorCell> try_pop();
    void wake_one();

    const std::chrono::microseconds spin_;
    SpinLock lock_;  // guards ready_ and sleepers_
    std::deque<std::shared_ptr<ActorCell>> ready_;
    std::size_t sleepers_ = 0;
    std::atomic<std::size_t> spinners_{0};   ///< workers polling for work right now
    std::atomic<std::size_t> queued_{0};     ///< ready_.size(), readable without the lock
    std::atomic<std::uint32_t> wakeups_{0};  ///< sleepers wait for it to change
    std::atomic<bool> stopping_{false};
    std::vector<std::jthread> workers_;
};

}  // namespace courier::detail
