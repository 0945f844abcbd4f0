#include "scheduler.hpp"

#include "actor_cell.hpp"

namespace courier::detail {

Scheduler::Scheduler(std::size_t threads) {
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

void Scheduler::work() {
    for (;;) {
        std::shared_ptr<ActorCell> cell;
        ready_.wait_dequeue(cell);
        if (!cell) return;
        cell->run();
    }
}

}  // namespace courier::detail
