#include "scheduler.hpp"

#include <spdlog/spdlog.h>
#include <courier/log.hpp>
#include <courier/spin_lock.hpp>

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <utility>

namespace courier::detail {

namespace {
constexpr const char* kWorkerName = "courier-worker";
/// While a worker polls the links: the scheduler it belongs to and where the first cell
/// its poll makes ready goes.
struct Claim {
    const Scheduler* scheduler = nullptr;
    std::shared_ptr<Runnable>* cell = nullptr;
};
thread_local Claim this_thread_claim;

/// The worker the calling thread is, if it is one: its scheduler and its index there.
struct Worker {
    const Scheduler* scheduler = nullptr;
    std::size_t index = 0;
};
thread_local Worker this_worker;

std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}
}  // namespace

/// The tasks posted: one Runnable, queued once while it has tasks (as a cell is while it
/// has letters), so they run one at a time and in order.
class Scheduler::Tasks final : public Runnable {
  public:
    /// True when the caller must queue it (it was not queued).
    bool add(std::function<void()> task) {
        std::lock_guard lock(mutex_);
        tasks_.push_back(std::move(task));
        return !std::exchange(queued_, true);
    }
    bool run() override {
        std::deque<std::function<void()>> now;
        {
            std::lock_guard lock(mutex_);
            now.swap(tasks_);
        }
        for (auto& task : now) {
            try {
                task();
            } catch (const std::exception& e) {
                log().error("a framework task failed: {}", e.what());
            }
        }
        std::lock_guard lock(mutex_);
        if (!tasks_.empty()) return true;
        queued_ = false;
        return false;
    }

  private:
    std::mutex mutex_;
    std::deque<std::function<void()>> tasks_;
    bool queued_ = false;
};

Scheduler::Scheduler(std::size_t threads, std::chrono::microseconds spin, IdlePoll* poll,
                     bool yielding)
    : spin_(spin),
      yielding_(yielding),
      poll_(poll),
      leads_(yielding && poll != nullptr && poll->waits()),
      // 10000: BlockingConcurrentQueue's own spin, which the workers were tuned with.
      ready_count_(0, spin.count() > 0 && !yielding ? 10000 : 0),
      tasks_(std::make_shared<Tasks>()),
      manual_(threads == 0 ? std::make_unique<Manual>() : nullptr) {
    for (std::size_t i = 0; i < threads; ++i) next_.push_back(std::make_unique<NextCell>());
    for (std::size_t i = 0; i < threads; ++i) {
        workers_.emplace_back([this, i] {
            // Named by itself too: its first turn may come before the line below.
            pthread_setname_np(pthread_self(), kWorkerName);
            this_worker = {this, i};
            work();
        });
        // Named here as well: whoever counts them (top -H, gdb, a test) sees every
        // worker by its name as soon as the node has started.
        pthread_setname_np(workers_.back().native_handle(), kWorkerName);
    }
}

Scheduler::~Scheduler() {
    stop();
}

void Scheduler::post(std::function<void()> task) {
    if (tasks_->add(std::move(task))) schedule(tasks_);
}

void Scheduler::schedule(std::shared_ptr<Runnable> cell) {
    if (auto& claim = this_thread_claim; claim.scheduler == this && !*claim.cell) {
        *claim.cell = std::move(cell);
        return;
    }
    if (make_next(cell)) return;
    if (manual_) [[unlikely]] {
        {
            std::lock_guard lock(manual_->mutex);
            manual_->ready.push_back(std::move(cell));
        }
        manual_->queued.notify_all();
        return;
    }
    enqueue(std::move(cell));
}

bool Scheduler::make_next(std::shared_ptr<Runnable>& cell) {
    if (this_worker.scheduler != this || spinning_.load(std::memory_order_relaxed) == 0)
        return false;
    NextCell& next = *next_[this_worker.index];
    std::shared_ptr<Runnable> before;
    {
        std::lock_guard lock(next.lock);
        before = std::exchange(next.cell, std::move(cell));
        next.since.store(now_ns(), std::memory_order_relaxed);
    }
    if (before) enqueue(std::move(before));  // the newer one runs next: it is the reply
    // Pairs with idle()'s giving up: either that worker sees this cell, or this sees it
    // stopped spinning, and the cell goes to the queue, which wakes a worker.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (spinning_.load(std::memory_order_relaxed) == 0) {
        std::shared_ptr<Runnable> back;
        if (take_next(next, back)) enqueue(std::move(back));
    }
    return true;
}

bool Scheduler::take_next(NextCell& next, std::shared_ptr<Runnable>& cell,
                          std::chrono::nanoseconds waited) {
    const std::int64_t since = next.since.load(std::memory_order_relaxed);
    if (since == 0 || (waited.count() > 0 && now_ns() - since < waited.count())) return false;
    std::lock_guard lock(next.lock);
    if (!next.cell) return false;  // taken meanwhile
    cell = std::move(next.cell);
    next.since.store(0, std::memory_order_relaxed);
    return true;
}

bool Scheduler::another_in_turn() const noexcept {
    for (std::size_t i = 0; i < next_.size(); ++i)
        if (!(this_worker.scheduler == this && i == this_worker.index) &&
            next_[i]->in_turn.load(std::memory_order_relaxed))
            return true;
    return false;
}

bool Scheduler::take_over(std::shared_ptr<Runnable>& cell, bool any) {
    for (std::size_t i = 0; i < next_.size(); ++i) {
        if (this_worker.scheduler == this && i == this_worker.index) continue;
        if (take_next(*next_[i], cell, any ? std::chrono::nanoseconds{} : take_over_after))
            return true;
    }
    return false;
}

void Scheduler::enqueue(std::shared_ptr<Runnable> cell) {
    ready_.enqueue(std::move(cell));
    ready_count_.signal();
    if (leads_) {
        // Pairs with lead()'s fence: either it sees the cell counted, or this sees it waits.
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (leader_waits_.load(std::memory_order_relaxed)) poll_->interrupt();
    }
}

bool Scheduler::try_take(std::shared_ptr<Runnable>& cell) {
    if (!ready_count_.tryWait()) return false;
    // Counted only once queued: it is there, though a moment may pass before it shows.
    while (!ready_.try_dequeue(cell)) continue;
    return true;
}

void Scheduler::take(std::shared_ptr<Runnable>& cell) {
    if (leads_ && !lead_taken_.exchange(true, std::memory_order_acquire)) {
        lead(cell);
        lead_taken_.store(false, std::memory_order_release);
        return;
    }
    while (!ready_count_.wait()) continue;
    while (!ready_.try_dequeue(cell)) continue;
}

void Scheduler::lead(std::shared_ptr<Runnable>& cell) {
    for (;;) {
        leader_waits_.store(true, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (try_take(cell)) break;
        this_thread_claim = {this, &cell};
        poll_->wait();
        this_thread_claim = {};
        if (cell) break;
    }
    leader_waits_.store(false, std::memory_order_relaxed);
}

void Scheduler::stop() {
    if (manual_) {
        std::deque<std::shared_ptr<Runnable>> dropped;  // let go outside the lock
        {
            std::lock_guard lock(manual_->mutex);
            manual_->stopped = true;
            dropped.swap(manual_->ready);
        }
        manual_->queued.notify_all();
        return;
    }
    // One empty entry per worker tells it to leave.
    for (std::size_t i = 0; i < workers_.size(); ++i) enqueue(nullptr);
    workers_.clear();  // joins
}

namespace {

/// When a worker that shares its CPU gives it up (Scheduler::idle): a yield costs a system
/// call (1.3-1.6 us on these VMs), and yielding every 16 rounds kept a spinner in the
/// kernel most of the time when nobody else wanted its CPU (a shm round trip between
/// processes pinned to a CPU each took 4.3 us instead of 1.7). So the pace follows what
/// the yields find: one that let another thread run (it took far longer than the fastest)
/// keeps them at every chance; one that came straight back doubles the time to the next,
/// up to max_gap, the longest a thread woken on this CPU may wait for it.
struct YieldPace {
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::nanoseconds max_gap = std::chrono::microseconds(50);

    void maybe_yield() {
        const Clock::time_point before = Clock::now();
        if (before < next) return;
        sched_yield();
        const Clock::time_point after = Clock::now();
        const auto took = after - before;
        fastest = std::min(fastest, took);
        if (took > 2 * fastest + std::chrono::microseconds(1))
            gap = {};  // another thread ran: it may want the CPU back soon
        else
            gap = std::min(
                std::max(2 * gap, std::chrono::nanoseconds(std::chrono::microseconds(1))), max_gap);
        next = after + gap;
    }

    Clock::duration fastest = Clock::duration::max();
    Clock::duration gap{};
    Clock::time_point next{};
};
thread_local YieldPace yield_pace;  // each worker its own, kept across its idle spells

}  // namespace

bool Scheduler::idle(std::shared_ptr<Runnable>& cell) {
    using Clock = std::chrono::steady_clock;
    if (spin_.count() == 0) return try_take(cell);
    const bool polls = poll_ != nullptr && !poll_taken_.exchange(true, std::memory_order_acquire);
    const bool in_memory = polls && poll_->polling(true);
    if (yielding_ && !in_memory) {  // nothing worth taking the shared CPU for
        if (polls) {
            poll_->polling(false);
            poll_taken_.store(false, std::memory_order_release);
        }
        return try_take(cell);
    }
    bool found = false;
    bool spins = true;
    spinning_.fetch_add(1, std::memory_order_relaxed);
    Clock::time_point give_up;  // read the clock only once the first polls found nothing
    Clock::time_point busy_give_up;
    for (unsigned i = 1;; ++i) {
        // Other workers' next cells only every few dozen rounds (a microsecond or two,
        // against the take_over_after they must wait): each look pulls the cache line a
        // busy worker writes at every hop back to this CPU, which slowed an in-process
        // round trip from 1.2 to 2 us.
        if (try_take(cell) || (i % 64 == 0 && take_over(cell, /*any=*/false))) {
            found = true;
            break;
        }
        if (polls) {
            this_thread_claim = {this, &cell};
            const bool arrived = poll_->poll(/*descriptors=*/!yielding_);
            this_thread_claim = {};
            if (cell) {
                found = true;
                break;
            }
            if (arrived) {  // frames for a cell already running: poll a full spin more
                i = 0;
                continue;
            }
        }
        if (i % 64 == 0) {
            if (i == 64) {
                give_up = Clock::now() + spin_;
                busy_give_up = give_up + spin_while_busy;
            } else if (const auto now = Clock::now();
                       now >= give_up && (now >= busy_give_up || !another_in_turn())) {
                // About to sleep: a next cell put there while this one spun must not wait
                // for a long turn to end (see make_next).
                spinning_.fetch_sub(1);  // seq_cst
                spins = false;
                found = take_over(cell, /*any=*/true);
                break;
            }
        }
        // Sharing the CPU: give it up now and then, so a thread woken on it waits
        // microseconds, not the rest of the kernel's time slice (see YieldPace).
        if (yielding_ && i % 16 == 0) yield_pace.maybe_yield();
        // A link whose frames a thread of its own hands over needs that thread to run: a
        // yield at every turn then, as any CPU may be its.
        if (polls && poll_->yield_while_polling())
            sched_yield();
        else
            cpu_relax();
    }
    if (spins) spinning_.fetch_sub(1, std::memory_order_relaxed);
    // Released before the cell runs: a long handler must not keep the links unpolled
    // while the peer believes someone polls them.
    if (polls) {
        poll_->polling(false);
        poll_taken_.store(false, std::memory_order_release);
    }
    return found;
}

void Scheduler::work() {
    NextCell& next = *next_[this_worker.index];
    for (;;) {
        std::shared_ptr<Runnable> cell;
        // The cell this worker's last turn made ready; else spin, then sleep (the count
        // spins a little more before it blocks).
        if (!take_next(next, cell) && !idle(cell)) take(cell);
        if (!cell) {  // stopping: a worker still here may run this one's next cell
            if (take_next(next, cell)) enqueue(std::move(cell));
            return;
        }
        // While the cell has letters and no other cell waits, it keeps this worker: no
        // trip through the ready queue, no hand-off to another thread. A next cell waits
        // for it no longer than a turn: it runs, and this one queues behind the others.
        next.in_turn.store(true, std::memory_order_relaxed);
        while (cell->run()) {
            if (next.since.load(std::memory_order_relaxed) != 0 || ready_.size_approx() != 0) {
                enqueue(std::move(cell));
                break;
            }
        }
        next.in_turn.store(false, std::memory_order_relaxed);
    }
}

Scheduler::Manual& Scheduler::manual_mode() {
    if (!manual_)
        throw std::logic_error("Scheduler: stepping by hand needs a manual scheduler (0 threads)");
    return *manual_;
}

bool Scheduler::run_one() {
    auto& manual = manual_mode();
    std::shared_ptr<Runnable> cell;
    {
        std::lock_guard lock(manual.mutex);
        if (manual.stopped || manual.ready.empty()) return false;
        cell = std::move(manual.ready.front());
        manual.ready.pop_front();
    }
    // As a worker, but a cell with letters left goes behind the others: a test sees
    // every ready actor take its turn.
    if (cell->run()) schedule(std::move(cell));
    return true;
}

std::size_t Scheduler::run_until_idle(std::size_t max_turns) {
    std::size_t turns = 0;
    while (turns < max_turns && run_one()) ++turns;
    return turns;
}

bool Scheduler::wait_ready(std::chrono::steady_clock::time_point deadline) {
    auto& manual = manual_mode();
    std::unique_lock lock(manual.mutex);
    manual.queued.wait_until(lock, deadline,
                             [&] { return manual.stopped || !manual.ready.empty(); });
    return !manual.stopped && !manual.ready.empty();
}

}  // namespace courier::detail
