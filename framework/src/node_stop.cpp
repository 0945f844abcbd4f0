// How a node stops: the one way for its destructor and for SIGTERM/SIGINT
// (stop_signals.hpp). The steps, in order, and why:
//
// 1. No new links: the listeners close (removing their endpoints), so no peer starts
//    talking to a node that is going. Links already open stay: replies and letters still
//    in flight on them are part of the drain.
// 2. Every actor gets a stop letter behind the letters already in its mailbox, so it
//    handles those first (a letter that comes after it bounces as `stopped`). At the
//    drain's deadline (NodeOptions::drain_timeout) the node hurries: each actor's next
//    turn stops it and bounces what is left. A handler that never returns holds the stop;
//    a second signal ends such a process at once.
// 3. Each actor, as it stops, runs on_stop and unregisters its name: watchers get their
//    Down through the registry.
// 4. The links close, cleanly: each peer reads the end of its link.
// The registry connection and the threads stay until the Node is destroyed (or the
// process ends): the node is then an empty node that makes no links.

#include "node_core.hpp"

#include "actor_cell.hpp"
#include "stop_signals.hpp"

#include <spdlog/spdlog.h>
#include <courier/log.hpp>

#include <chrono>
#include <future>
#include <memory>

namespace courier::detail {

void NodeCore::stop() {
    if (enlisted_) {
        StopSignals::leave(*this);  // after a signal's stop of this node, if one runs
        enlisted_ = false;
    }
    begin_stop();
    finish_stop();
}

void NodeCore::begin_stop() {
    {
        std::lock_guard lock(run_mutex_);
        if (stopping_) return;
        stopping_ = true;
        drain_deadline_ = std::chrono::steady_clock::now() + options_.drain_timeout;
    }
    // On the reactor's thread, where no accept is running. (Stepped by hand, the timers
    // never run on their own: the destructor closes them once the reactor stopped.)
    if (reactor_ && !by_hand_) {
        auto closed = std::make_shared<std::promise<void>>();
        auto done = closed->get_future();
        reactor_->after(std::chrono::milliseconds(0), [this, closed] {
            peers_.close_listeners();
            closed->set_value();
        });
        if (done.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
            log().error("node '{}': the reactor did not close the listeners within 5 s", name_);
    }
    for (auto& box : actors_.all()) {
        auto* cell = dynamic_cast<ActorCell*>(box.get());
        if (!cell) continue;
        Letter stop;
        stop.type = stop_type;
        cell->deliver(std::move(stop));
        cell->unpark();  // parked, it would see its stop only once it has room or credit
    }
}

void NodeCore::finish_stop() {
    if (by_hand_) scheduler_->run_until_idle();  // nobody else runs the actors' last turns
    {
        std::unique_lock lock(run_mutex_);
        auto stopped = [&] { return live_cells_ == 0; };
        if (!run_cv_.wait_until(lock, drain_deadline_, stopped)) {
            log().warn("node '{}': {} actors still busy after {} ms; bouncing their letters", name_,
                       live_cells_, options_.drain_timeout.count());
            hurry_.store(true);
            // A hurried actor is never parked again (ActorCell::park): each one parked now
            // runs its last turn.
            lock.unlock();
            for (auto& box : actors_.all())
                if (auto* cell = dynamic_cast<ActorCell*>(box.get())) cell->unpark();
            lock.lock();
            // Only a handler still running delays them now.
            if (!run_cv_.wait_for(lock, std::chrono::seconds(10), stopped))
                log().error("node '{}': {} actors did not stop within 10 s", name_, live_cells_);
        }
    }
    peers_.close_links(node_stopped);
}

}  // namespace courier::detail
