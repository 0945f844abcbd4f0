#pragma once
/// @file
/// The thread pool that runs actors. An actor with letters is queued once (its cell's
/// `scheduled` flag guards that), so it runs on one thread at a time.
///
/// An idle worker polls the ready queue for a while before it sleeps: on a VM whose idle
/// cores halt, waking a sleeping thread costs tens of microseconds, so a hand-off between
/// two actors stays fast only if the thread it goes to is still awake.

#include <concurrentqueue/blockingconcurrentqueue.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace courier::detail {

struct ActorCell;

class Scheduler {
  public:
    /// `spin`: how long an idle worker polls for work before it sleeps.
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
    /// Polls the ready queue for up to `spin_`; false if it stayed empty.
    bool poll(std::shared_ptr<ActorCell>& cell);

    const std::chrono::microseconds spin_;
    moodycamel::BlockingConcurrentQueue<std::shared_ptr<ActorCell>> ready_;
    std::vector<std::jthread> workers_;
};

}  // namespace courier::detail
