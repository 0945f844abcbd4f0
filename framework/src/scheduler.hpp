#pragma once
/// @file
/// The thread pool that runs actors. An actor with letters is queued once (only the
/// letter that wakes its sleeping mailbox queues it: LetterQueue), so it runs on one
/// thread at a time.
///
/// An idle worker polls the ready queue for a while before it sleeps: on a VM whose idle
/// cores halt, waking a sleeping thread costs tens of microseconds, so a hand-off between
/// two actors stays fast only if the thread it goes to is still awake. One idle worker
/// at a time also polls the node's links that can be polled in memory (IdlePoll): frames
/// it finds are delivered by that worker, and the first cell they make ready runs on it
/// at once, with no hand-off from the reactor thread at all.

#include <concurrentqueue/blockingconcurrentqueue.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace courier::detail {

struct ActorCell;

/// What an idle worker polls besides the ready queue (the node's memory-polled links).
class IdlePoll {
  public:
    virtual ~IdlePoll() = default;
    /// A worker starts (true) or stops (false) polling; one worker polls at a time.
    virtual void polling(bool on) noexcept = 0;
    /// Takes what has arrived, without blocking; true if anything did.
    virtual bool poll() = 0;
};

class Scheduler {
  public:
    /// `spin`: how long an idle worker polls for work before it sleeps. `poll`, if given,
    /// must outlive the scheduler's workers (stop()).
    Scheduler(std::size_t threads, std::chrono::microseconds spin, IdlePoll* poll = nullptr);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    /// Queues a cell to run its mailbox. Called only by the one who woke it. A cell
    /// made ready by a worker's own poll runs on that worker next instead.
    void schedule(std::shared_ptr<ActorCell> cell);
    /// Lets the workers finish the cell they run, then joins them.
    void stop();

  private:
    void work();
    /// Polls the ready queue (and, with the poll token, the links) for up to `spin_`;
    /// false if nothing came.
    bool idle(std::shared_ptr<ActorCell>& cell);

    const std::chrono::microseconds spin_;
    IdlePoll* const poll_;
    std::atomic<bool> poll_taken_{false};  ///< a worker is polling the links
    moodycamel::BlockingConcurrentQueue<std::shared_ptr<ActorCell>> ready_;
    std::vector<std::jthread> workers_;
};

}  // namespace courier::detail
