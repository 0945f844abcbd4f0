#pragma once
/// @file
/// The thread pool that runs actors. An actor with letters is queued once (only the
/// letter that wakes its sleeping mailbox queues it: LetterQueue), so it runs on one
/// thread at a time.
///
/// An idle worker polls the ready queue for a while before it sleeps: on a VM whose idle
/// cores halt, waking a sleeping thread costs tens of microseconds, so a hand-off between
/// two actors stays fast only if the thread it goes to is still awake.
///
/// A cell that a worker's turn makes ready, while another worker spins idle, becomes that
/// worker's next cell: it runs on the same worker as soon as the turn ends, so a request
/// and its reply stay on one CPU (as Go's runnext, Tokio's LIFO slot). An idle worker
/// takes it over once it has waited a few microseconds (a long handler), so actors that
/// could run side by side still do. One idle worker
/// at a time also polls the node's links that can be polled in memory (IdlePoll): frames
/// it finds are delivered by that worker, and the first cell they make ready runs on it
/// at once, with no hand-off from the reactor thread at all.
///
/// Manual mode (0 threads), for tests that step a node by hand: no worker exists and
/// nothing runs until the test calls run_one() or run_until_idle(), which run turns on
/// the calling thread. schedule() only queues, from any thread (a letter sent from the
/// test, one delivered by the reactor, a cell made ready during a turn), and cells run in
/// the order they were queued: a test can say "A sent X to B; B replied Y" as a sequence
/// of steps. wait_ready() waits for a cell that another thread (the reactor: a frame, a
/// timer) makes ready. Nobody polls the links there (IdlePoll is never called), so they
/// signal the reactor as when no worker is idle. Whatever blocks for an actor's answer
/// (Node::request, NodeCore::stop) needs the test to step meanwhile, from another
/// thread.

#include <courier/spin_lock.hpp>

#include <concurrentqueue/concurrentqueue.h>
#include <concurrentqueue/lightweightsemaphore.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace courier::detail {

/// What a worker runs: an actor's cell (a turn of its letters), or the node's tasks.
class Runnable {
  public:
    virtual ~Runnable() = default;
    /// Runs a turn; true when there is more to run (the caller keeps it, or queues it
    /// again), false when it went to sleep.
    virtual bool run() = 0;
};

/// What an idle worker polls besides the ready queue (the node's memory-polled links).
class IdlePoll {
  public:
    virtual ~IdlePoll() = default;
    /// A worker starts (true) or stops (false) polling; one worker polls at a time. True
    /// when it starts and some link can be polled in memory.
    virtual bool polling(bool on) noexcept = 0;
    /// Takes what has arrived, without blocking; true if anything did. `descriptors`: the
    /// links read through descriptors too, which costs a system call now and then.
    virtual bool poll(bool descriptors) = 0;
    /// True when a link being polled needs a CPU to make progress itself
    /// (Capabilities::handover_thread): the poller then yields at every turn. Asked by
    /// the polling worker only.
    virtual bool yield_while_polling() const noexcept { return false; }
    /// True when an idle worker may wait for the links read through descriptors itself
    /// (wait()), instead of sleeping until the reactor hands it what they bring.
    virtual bool waits() const noexcept { return false; }
    /// One worker at a time: blocks until a link read through a descriptor has frames, and
    /// takes them on the calling thread, or until interrupt(); true if any arrived.
    virtual bool wait() { return false; }
    /// Ends a wait() now, or the next one to begin.
    virtual void interrupt() noexcept {}
};

class Scheduler {
  public:
    /// `threads` workers run the cells; 0 makes the scheduler manual (see the file's
    /// comment). `spin`: how long an idle worker polls for work before it sleeps; 0: it
    /// never spins nor polls the links, and sleeps at once (a node with one CPU, where a
    /// spinning worker would take it from the thread the work waits for). `poll`, if
    /// given, must outlive the scheduler's workers (stop()); a manual scheduler never
    /// calls it.
    /// `yielding`: the workers share their CPU with the reactor (a node with one CPU). An
    /// idle worker spins only while links can be polled in memory, and gives its CPU up
    /// (sched_yield) at each turn instead of pausing, so a thread that shares it (the
    /// reactor, another process) runs at once when it has work. Polling links read through
    /// descriptors would take the CPU from the reactor that reads them: it sleeps instead,
    /// and if `poll` waits(), one worker sleeps waiting for those links itself (lead()):
    /// a frame then wakes the thread that runs its actor, not the reactor, which would have
    /// to wake it in turn on the same CPU.
    Scheduler(std::size_t threads, std::chrono::microseconds spin, IdlePoll* poll = nullptr,
              bool yielding = false);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    /// Queues a cell to run its mailbox. Called only by the one who woke it. A cell
    /// made ready by a worker's own poll runs on that worker next instead, and one made
    /// ready by a worker's turn may become its next cell (see the file's comment).
    void schedule(std::shared_ptr<Runnable> cell);
    /// Runs `task` on a worker soon: for work that may block on a link, which the
    /// reactor's thread must never do (a grant of credit, draining an outbox). Tasks run
    /// in the order posted, one at a time. A task that throws is logged. Manual: run by
    /// run_one() like a cell.
    void post(std::function<void()> task);
    /// Lets the workers finish the cell they run, then joins them. Manual: no turn runs
    /// after it, and the cells still queued are let go.
    void stop();

    /// Workers idle and spinning now (that could take over a next cell).
    int spinning() const noexcept { return spinning_.load(std::memory_order_relaxed); }

    /// True when built with 0 threads: only the calls below run cells.
    bool manual() const noexcept { return manual_ != nullptr; }
    /// Manual mode only (else throws std::logic_error). Runs one turn of the cell queued
    /// first on the calling thread (ActorCell::run: its letters, up to a turn's worth);
    /// if letters remain, the cell goes to the back of the queue. Cells it makes ready
    /// are queued, not run. False, running nothing, when no cell is ready (or after
    /// stop()).
    bool run_one();
    /// Manual mode only: run_one() until no cell is ready or `max_turns` ran (a bound for
    /// actors that keep each other busy forever); returns how many turns ran.
    std::size_t run_until_idle(std::size_t max_turns = std::numeric_limits<std::size_t>::max());
    /// Manual mode only: waits until a cell is ready or `deadline` passes; true if one is.
    bool wait_ready(std::chrono::steady_clock::time_point deadline);

  private:
    /// A worker's next cell (see the file's comment): its own turns put it there, and it
    /// or an idle worker takes it.
    struct alignas(64) NextCell {  // a line of its own: idle workers read it
        SpinLock lock;
        std::shared_ptr<Runnable> cell;  ///< under lock
        /// When the cell was put there (steady clock, ns), 0 when there is none: idle
        /// workers read it without the lock.
        std::atomic<std::int64_t> since{0};
        /// The worker runs turns now: an idle worker about to sleep spins on instead
        /// (see spin_while_busy).
        std::atomic<bool> in_turn{false};
    };
    /// How long a next cell waits for its worker's turn to end before an idle worker may
    /// take it: far above a turn that ends at once, far below a handler that computes.
    static constexpr std::chrono::microseconds take_over_after{5};
    /// How long an idle worker spins on past its own spin while another worker runs
    /// turns: a cell that turn makes ready then finds it awake (or becomes the next cell)
    /// and waits for no wake-up, which costs tens of microseconds on a VM. Bounded, so a
    /// handler that computes for seconds keeps a CPU busy for a millisecond, not all along.
    static constexpr std::chrono::microseconds spin_while_busy{1000};
    /// True when a worker other than the calling one runs turns.
    bool another_in_turn() const noexcept;

    void work();
    /// Makes `cell` the calling worker's next cell (a cell already there goes to the
    /// ready queue); false, doing nothing, unless the caller is one of this scheduler's
    /// workers in a turn and another worker spins, which could take it over.
    bool make_next(std::shared_ptr<Runnable>& cell);
    /// Takes `next`'s cell if it has one (that has waited at least `waited`).
    static bool take_next(NextCell& next, std::shared_ptr<Runnable>& cell,
                          std::chrono::nanoseconds waited = {});
    /// Takes another worker's next cell that waited too long (or, `any`, any of them).
    bool take_over(std::shared_ptr<Runnable>& cell, bool any);
    void enqueue(std::shared_ptr<Runnable> cell);
    /// Takes a queued cell without waiting; false when none is queued.
    bool try_take(std::shared_ptr<Runnable>& cell);
    /// Takes a queued cell, sleeping until one is.
    void take(std::shared_ptr<Runnable>& cell);
    /// Takes a queued cell, or the first its wait for the links makes ready, waiting for
    /// the links (IdlePoll::wait) until one is.
    void lead(std::shared_ptr<Runnable>& cell);
    /// Polls the ready queue (and, with the poll token, the links) for up to `spin_`;
    /// false if nothing came.
    bool idle(std::shared_ptr<Runnable>& cell);

    /// The ready queue of a manual scheduler: a strict FIFO over every queuing thread
    /// (moodycamel's orders only per producer), so a test's steps come in a known order.
    struct Manual {
        std::mutex mutex;
        std::condition_variable queued;
        std::deque<std::shared_ptr<Runnable>> ready;
        bool stopped = false;
    };
    Manual& manual_mode();

    const std::chrono::microseconds spin_;
    const bool yielding_;
    IdlePoll* const poll_;
    std::atomic<bool> poll_taken_{false};          ///< a worker is polling the links
    std::atomic<int> spinning_{0};                 ///< workers idle and spinning (idle())
    std::vector<std::unique_ptr<NextCell>> next_;  ///< one per worker
    const bool leads_;                             ///< an idle worker waits for the links (lead())
    std::atomic<bool> lead_taken_{false};          ///< a worker leads
    std::atomic<bool> leader_waits_{false};  ///< ...and may be in IdlePoll::wait: interrupt it
    /// The ready queue, and the count of its cells that workers sleep on: what moodycamel's
    /// BlockingConcurrentQueue pairs, but here the count's own spin before it sleeps is
    /// chosen at run time (none without `spin`).
    moodycamel::ConcurrentQueue<std::shared_ptr<Runnable>> ready_;
    moodycamel::LightweightSemaphore ready_count_;
    /// The tasks posted and not yet run: queued as one Runnable while it has any.
    class Tasks;
    const std::shared_ptr<Tasks> tasks_;
    std::vector<std::jthread> workers_;
    const std::unique_ptr<Manual> manual_;  ///< null unless manual
};

}  // namespace courier::detail
