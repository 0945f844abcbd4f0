#include "scheduler.hpp"

#include "actor_cell.hpp"
#include "spin_lock.hpp"

namespace courier::detail {

Scheduler::Scheduler(std::size_t threads, std::chrono::microseconds spin) : spin_(spin) {
    if (threads == 0) threads = 1;
    for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

Scheduler::~Scheduler() {
    stop();
}

void Scheduler::schedule(std::shared_ptr<ActorCell> cell) {
    ready_.enqueue(std::move(cell));
}

void Scheduler::stop() {
    // One empty entry per worker tells it to leave.
    for (std::size_t i = 0; i < workers_.size(); ++i) ready_.enqueue(nullptr);
    workers_.clear();  // joins
}

bool Scheduler::poll(std::shared_ptr<ActorCell>& cell) {
    using Clock = std::chrono::steady_clock;
    Clock::time_point give_up;  // read the clock only once the first polls found nothing
    for (unsigned i = 1;; ++i) {
        if (ready_.try_dequeue(cell)) return true;
        if (i % 64 == 0) {
            if (i == 64)
                give_up = Clock::now() + spin_;
            else if (Clock::now() >= give_up)
                return false;
        }
        cpu_relax();
    }
}

void Scheduler::work() {
    for (;;) {
        std::shared_ptr<ActorCell> cell;
        // Spin, then sleep (the queue's own wait spins a little more before it blocks).
        if (!poll(cell)) ready_.wait_dequeue(cell);
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
