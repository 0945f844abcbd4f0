#include "scheduler.hpp"

#include "actor_cell.hpp"

#include <mutex>

namespace courier::detail {

Scheduler::Scheduler(std::size_t threads, std::chrono::microseconds spin) : spin_(spin) {
    if (threads == 0) threads = 1;
    for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

Scheduler::~Scheduler() {
    stop();
}

void Scheduler::schedule(std::shared_ptr<ActorCell> cell) {
    bool wake;
    {
        std::lock_guard lock(lock_);
        ready_.push_back(std::move(cell));
        queued_.store(ready_.size(), std::memory_order_relaxed);
        // A spinning worker will take it; waking a sleeper too would only cost a syscall.
        wake = sleepers_ > 0 && spinners_.load() == 0;
    }
    if (wake) wake_one();
}

void Scheduler::stop() {
    {
        std::lock_guard lock(lock_);
        stopping_ = true;
    }
    wakeups_.fetch_add(1);
    wakeups_.notify_all();
    workers_.clear();  // joins
}

void Scheduler::wake_one() {
    wakeups_.fetch_add(1);
    wakeups_.notify_one();
}

void Scheduler::work() {
    while (auto cell = next()) {
        // While the cell has letters and no other cell waits, it keeps this worker: no
        // trip through the ready queue, no hand-off to another thread.
        while (cell->run()) {
            if (queued_.load(std::memory_order_relaxed) != 0 || stopping_) {
                schedule(std::move(cell));
                break;
            }
        }
    }
}

std::shared_ptr<ActorCell> Scheduler::try_pop() {
    std::shared_ptr<ActorCell> cell;
    bool wake = false;
    {
        std::lock_guard lock(lock_);
        if (ready_.empty()) return nullptr;
        cell = std::move(ready_.front());
        ready_.pop_front();
        queued_.store(ready_.size(), std::memory_order_relaxed);
        // More work than this worker can take, and nobody awake to take it.
        wake = !ready_.empty() && sleepers_ > 0 && spinners_.load() == 0;
    }
    if (wake) wake_one();
    return cell;
}

std::shared_ptr<ActorCell> Scheduler::spin() {
    using Clock = std::chrono::steady_clock;
    const auto give_up = Clock::now() + spin_;
    ++spinners_;
    for (unsigned i = 1; !stopping_.load(std::memory_order_relaxed); ++i) {
        if (queued_.load(std::memory_order_relaxed) != 0) {
            --spinners_;  // it will run what it finds: no longer a worker waiting for work
            if (auto cell = try_pop()) return cell;
            ++spinners_;
        }
        if (i % 64 == 0 && Clock::now() >= give_up) break;
        cpu_relax();
    }
    --spinners_;
    return nullptr;
}

std::shared_ptr<ActorCell> Scheduler::next() {
    for (;;) {
        if (auto cell = spin()) return cell;
        std::uint32_t generation;
        {
            std::lock_guard lock(lock_);
            if (stopping_) return nullptr;
            if (!ready_.empty()) continue;  // queued since the last look
            // Counted under the lock: whoever queues a cell after this sees a sleeper
            // and no spinner, and wakes one.
            ++sleepers_;
            generation = wakeups_.load();
        }
        wakeups_.wait(generation);
        std::lock_guard lock(lock_);
        --sleepers_;
    }
}

}  // namespace courier::detail
