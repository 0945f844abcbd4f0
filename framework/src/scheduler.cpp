#include "scheduler.hpp"

#include <courier/spin_lock.hpp>
#include "actor_cell.hpp"

#include <pthread.h>

namespace courier::detail {

namespace {
/// While a worker polls the links: the scheduler it belongs to and where the first cell
/// its poll makes ready goes.
struct Claim {
    const Scheduler* scheduler = nullptr;
    std::shared_ptr<ActorCell>* cell = nullptr;
};
thread_local Claim this_thread_claim;
}  // namespace

Scheduler::Scheduler(std::size_t threads, std::chrono::microseconds spin, IdlePoll* poll)
    : spin_(spin), poll_(poll) {
    if (threads == 0) threads = 1;
    for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

Scheduler::~Scheduler() {
    stop();
}

void Scheduler::schedule(std::shared_ptr<ActorCell> cell) {
    if (auto& claim = this_thread_claim; claim.scheduler == this && !*claim.cell) {
        *claim.cell = std::move(cell);
        return;
    }
    ready_.enqueue(std::move(cell));
}

void Scheduler::stop() {
    // One empty entry per worker tells it to leave.
    for (std::size_t i = 0; i < workers_.size(); ++i) ready_.enqueue(nullptr);
    workers_.clear();  // joins
}

bool Scheduler::idle(std::shared_ptr<ActorCell>& cell) {
    using Clock = std::chrono::steady_clock;
    const bool polls = poll_ != nullptr && !poll_taken_.exchange(true, std::memory_order_acquire);
    if (polls) poll_->polling(true);
    bool found = false;
    Clock::time_point give_up;  // read the clock only once the first polls found nothing
    for (unsigned i = 1;; ++i) {
        if (ready_.try_dequeue(cell)) {
            found = true;
            break;
        }
        if (polls) {
            this_thread_claim = {this, &cell};
            const bool arrived = poll_->poll();
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
            if (i == 64)
                give_up = Clock::now() + spin_;
            else if (Clock::now() >= give_up)
                break;
        }
        cpu_relax();
    }
    // Released before the cell runs: a long handler must not keep the links unpolled
    // while the peer believes someone polls them.
    if (polls) {
        poll_->polling(false);
        poll_taken_.store(false, std::memory_order_release);
    }
    return found;
}

void Scheduler::work() {
    pthread_setname_np(pthread_self(), "courier-worker");  // for top -H, perf, gdb
    for (;;) {
        std::shared_ptr<ActorCell> cell;
        // Spin, then sleep (the queue's own wait spins a little more before it blocks).
        if (!idle(cell)) ready_.wait_dequeue(cell);
        if (!cell) return;
        // While the cell has letters and no other cell waits, it keeps this worker: no
        // trip through the ready queue, no hand-off to another thread.
        while (cell->run()) {
            if (ready_.size_approx() != 0) {
                schedule(std::move(cell));
                break;
            }
        }
    }
}

}  // namespace courier::detail
