#pragma once
/// @file
/// The thread pool that runs actors. An actor with letters is queued once (its cell's
/// `scheduled` flag guards that), so it runs on one thread at a time.

#include <concurrentqueue/blockingconcurrentqueue.h>

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace courier::detail {

struct ActorCell;

class Scheduler {
  public:
    explicit Scheduler(std::size_t threads);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    /// Queues a cell to run its mailbox. Called only by the one who set its flag.
    void schedule(std::shared_ptr<ActorCell> cell);
    /// Lets the workers finish the cell they run, then joins them.
    void stop();

  private:
    void work();
    moodycamel::BlockingConcurrentQueue<std::shared_ptr<ActorCell>> ready_;
    std::vector<std::jthread> workers_;
};

}  // namespace courier::detail
