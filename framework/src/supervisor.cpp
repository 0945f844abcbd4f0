// The Supervisor actor (supervisor.hpp). Everything it decides runs in its own turns:
// the threads that learn something about a child (the reactor: a pidfd readable, a timer)
// only post it a ChildEvent, and its children's names coming up reach it as Up letters
// (Actor::await_up). Each event carries the
// generation of the child's start it is about, so one that arrives after the child was
// stopped or restarted is dropped.

#include <courier/framework/node.hpp>
#include <courier/framework/supervisor.hpp>
#include <courier/log.hpp>

#include "node_access.hpp"
#include "node_core.hpp"
#include "placed_child.hpp"
#include "supervisor_inbox.hpp"

#include <spdlog/spdlog.h>

#include <signal.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>

namespace courier {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using supervision::ChildEvent;
using supervision::event_of;
using supervision::ExitWatch;
using supervision::Inbox;

enum class Phase { waiting, starting, running, stopped };

const char* to_string(Phase phase) {
    switch (phase) {
        case Phase::waiting:
            return "waiting";
        case Phase::starting:
            return "starting";
        case Phase::running:
            return "running";
        case Phase::stopped:
            break;
    }
    return "stopped";
}

/// One child: its spec, its process, and what the supervisor knows of its history.
struct Slot {
    ChildSpec spec;
    ChildProcess process;                       ///< a child of this node
    std::optional<detail::PlacedChild> placed;  ///< or one on another host (spec.host)
    Phase phase = Phase::waiting;
    std::uint64_t generation = 0;      ///< its current start
    std::set<std::string> pending;     ///< names not registered yet by this start
    std::shared_ptr<ExitWatch> watch;  ///< while its pidfd is in the reactor
    std::optional<detail::Reactor::TimerId> timer;
    Clock::time_point due{};               ///< no start before this (its backoff)
    std::deque<Clock::time_point> recent;  ///< its restarts within the period
    std::uint32_t restarts = 0;
    std::string last_exit;
    std::vector<std::int64_t> start_times_ms;

    std::int64_t pid() const { return process ? process.pid() : placed ? placed->pid() : 0; }
    /// The name its start awaits: on another host, as that host holds it.
    std::string awaited(const std::string& name) const {
        return placed ? placed->qualified(name) : name;
    }
};

constexpr std::size_t kept_start_times = 32;
constexpr milliseconds recheck_delay{20};

}  // namespace

struct Supervisor::State {
    State(Supervisor& self_, SupervisorSpec spec_) : self(self_), spec(std::move(spec_)) {
        for (auto& child : spec.children) {
            slots.emplace_back();
            slots.back().spec = child;
        }
    }

    Supervisor& self;
    SupervisorSpec spec;
    std::vector<Slot> slots;
    detail::NodeCore* core = nullptr;
    std::shared_ptr<Inbox> inbox = std::make_shared<Inbox>();
    Clock::time_point began = Clock::now();
    std::deque<Clock::time_point> restarts;  ///< all restarts within the period
    std::set<std::uint32_t> queue;           ///< slots to start, in start order
    bool gave_up = false;

    std::string who(std::uint32_t i) const {
        return "supervisor '" + self.name() + "': child '" + slots[i].spec.id + "'";
    }

    /// Posts `event` about slot `i`'s current start after `delay`, from the reactor. The
    /// slot's one timer (its start timeout or its backoff) replaces the one before;
    /// the others (`kept` false: look again) just go stale with the start.
    void after(std::uint32_t i, milliseconds delay, ChildEvent event, bool kept = true) {
        Slot& s = slots[i];
        event.slot = i;
        event.generation = s.generation;
        auto timer = core->reactor().after(delay, [inbox = inbox, event] { inbox->post(event); });
        if (!kept) return;
        if (s.timer) core->reactor().cancel(*s.timer);
        s.timer = timer;
    }

    /// Forgets everything that could still tell about slot `i`'s current start.
    void quiet(std::uint32_t i) {
        Slot& s = slots[i];
        if (s.timer) core->reactor().cancel(*s.timer);
        s.timer.reset();
        if (s.watch) s.watch->end();
        s.watch.reset();
        ++s.generation;
    }

    /// Starts the queued children in order, one at a time, each once its backoff is over.
    void advance() {
        while (!gave_up && !queue.empty()) {
            for (const auto& s : slots)
                if (s.phase == Phase::starting) return;  // the next waits for this one
            const std::uint32_t i = *queue.begin();
            const auto now = Clock::now();
            if (now < slots[i].due) {
                after(i, std::chrono::ceil<milliseconds>(slots[i].due - now),
                      event_of(ChildEvent::start_due));
                return;
            }
            queue.erase(queue.begin());
            start(i);
        }
    }

    void start(std::uint32_t i) {
        Slot& s = slots[i];
        quiet(i);
        if (!s.spec.host.empty()) {
            auto placed = detail::PlacedChild::place(self.node(), s.spec, self.name());
            if (!placed) {
                s.last_exit = placed.error().message;
                ended(i, "could not be placed: " + s.last_exit, true);
                return;
            }
            s.placed = std::move(*placed);
        } else {
            ProcessOptions options = s.spec.process;
            if (options.parent_death_signal == 0) options.parent_death_signal = SIGKILL;
            try {
                s.process = self.node().spawn_process(std::move(options));
            } catch (const std::exception& e) {
                s.last_exit = e.what();
                ended(i, e.what(), true);
                return;
            }
        }
        s.start_times_ms.push_back(
            std::chrono::duration_cast<milliseconds>(Clock::now() - began).count());
        if (s.start_times_ms.size() > kept_start_times)
            s.start_times_ms.erase(s.start_times_ms.begin());
        if (s.process) watch_exit(i);
        s.pending.clear();
        for (const auto& name : s.spec.names) s.pending.insert(s.awaited(name));
        if (s.pending.empty() || core->registry() == nullptr) {
            if (!s.pending.empty()) log().warn("{}: no registry to see its names come up", who(i));
            up(i);
            return;
        }
        s.phase = Phase::starting;
        after(i, s.spec.start_timeout, event_of(ChildEvent::start_timeout));
        for (const auto& name : s.pending) await_name(name);
    }

    void watch_exit(std::uint32_t i) {
        Slot& s = slots[i];
        const int fd = s.process.exit_descriptor();
        if (fd < 0) {
            // No pidfd (a kernel before 5.3): look now and then instead.
            after(i, milliseconds(50), event_of(ChildEvent::exited), false);
            return;
        }
        s.watch = std::make_shared<ExitWatch>();
        s.watch->reactor = &core->reactor();
        s.watch->fd = fd;
        ChildEvent event{ChildEvent::exited, i, s.generation, {}, s.process.pid()};
        core->reactor().add(fd, [watch = s.watch, inbox = inbox, event] {
            std::lock_guard lock(watch->mutex);
            if (watch->fd < 0) return;
            watch->reactor->remove(watch->fd);
            watch->fd = -1;
            inbox->post(event);
        });
    }

    /// Asks for an Up when `name` is registered (at once if it is): Supervisor::on_start
    /// hands it to name_found for every child starting with that name pending.
    void await_name(const std::string& name) { self.await_up(name); }

    /// An Up (or none to be had: `pid` 0) for `name`: the children waiting for it.
    void on_up(const std::string& name, std::int64_t pid) {
        for (std::uint32_t i = 0; i < slots.size(); ++i) {
            Slot& s = slots[i];
            if (s.phase != Phase::starting || s.pending.count(name) == 0) continue;
            if (pid == 0)
                after(i, recheck_delay, event_of(ChildEvent::recheck_name, name), false);
            else
                name_found(i, name, pid);
        }
        advance();
    }

    void name_found(std::uint32_t i, const std::string& name, std::int64_t pid) {
        Slot& s = slots[i];
        if (s.phase != Phase::starting || s.pending.count(name) == 0) return;
        if (pid != s.pid()) {
            // Still the registration of a process that ended: its node's connection
            // has not closed yet. Look again shortly.
            after(i, recheck_delay, event_of(ChildEvent::recheck_name, name), false);
            return;
        }
        s.pending.erase(name);
        if (s.pending.empty()) up(i);
    }

    void up(std::uint32_t i) {
        Slot& s = slots[i];
        if (s.timer) core->reactor().cancel(*s.timer);
        s.timer.reset();
        s.phase = Phase::running;
        if (s.placed) s.placed->watch(self, s.spec.names);
        log().info("{} started (pid {}{})", who(i), s.pid(),
                   s.placed ? " on host '" + s.placed->host() + "'" : "");
    }

    /// A Down of monitor `id`: a child on another host whose names were up has ended (it
    /// is stopped for sure first, should only one of its actors have gone).
    void on_down(std::uint64_t id, const Down& down) {
        for (std::uint32_t i = 0; i < slots.size(); ++i) {
            Slot& s = slots[i];
            if (!s.placed || !s.placed->watches(id)) continue;
            const std::string what = "(pid " + std::to_string(s.pid()) + " on host '" +
                                     s.placed->host() + "'): '" + down.name + "' " +
                                     std::string(to_string(down.reason)) +
                                     (down.detail.empty() ? "" : " (" + down.detail + ")");
            terminate(i, s.spec.shutdown);
            s.last_exit = what;
            // A clean stop of its node is its normal end, as exit 0 of a local child.
            ended(i, what, down.reason != DownReason::stopped);
            advance();
            return;
        }
    }

    /// Stops slot `i`'s process: SIGTERM, its shutdown time, then SIGKILL; reaps it.
    void terminate(std::uint32_t i, milliseconds grace) {
        Slot& s = slots[i];
        quiet(i);
        if (s.process) {
            if (!s.process.wait_for(milliseconds(0))) {
                s.process.signal(grace.count() > 0 ? SIGTERM : SIGKILL);
                if (!s.process.wait_for(grace)) {
                    s.process.signal(SIGKILL);
                    s.process.wait();
                }
            }
            s.last_exit = s.process.wait().describe();
            s.process = ChildProcess();
        } else if (s.placed) {
            s.placed->terminate(self, core->registry(), s.spec.names, grace);
            s.placed.reset();
            s.last_exit = "stopped";
        }
        if (s.phase != Phase::stopped) s.phase = Phase::waiting;
    }

    void exited(std::uint32_t i) {
        Slot& s = slots[i];
        const pid_t pid = s.process.pid();
        auto status = s.process.wait_for(milliseconds(0));
        if (!status) {  // the polling fallback: not yet
            after(i, milliseconds(50), event_of(ChildEvent::exited), false);
            return;
        }
        const bool was_starting = s.phase == Phase::starting;
        quiet(i);
        s.process = ChildProcess();
        s.last_exit = status->describe();
        const std::string what = "(pid " + std::to_string(pid) + ") " + s.last_exit +
                                 (was_starting ? " before its names were up" : "");
        // Exit 0 is a normal end, also before its names are up (a transient job that
        // found nothing to do, as in Erlang); a permanent child is restarted anyway.
        ended(i, what, !status->success());
    }

    /// Slot `i`'s process ended (or never started): restarted if its policy says so,
    /// else left stopped.
    void ended(std::uint32_t i, const std::string& why, bool failure) {
        Slot& s = slots[i];
        if (s.spec.restart == RestartPolicy::temporary ||
            (s.spec.restart == RestartPolicy::transient && !failure)) {
            log().info("{} {}; not restarted", who(i), why);
            s.phase = Phase::stopped;
            return;
        }
        failed(i, why);
    }

    /// Slot `i` crashed or failed to start: restart what the strategy says, after its
    /// backoff, or give up when that is one restart too many.
    void failed(std::uint32_t i, const std::string& why) {
        const auto now = Clock::now();
        const auto prune = [&](std::deque<Clock::time_point>& times) {
            while (!times.empty() && now - times.front() > spec.period) times.pop_front();
        };
        prune(restarts);
        restarts.push_back(now);
        if (restarts.size() > spec.max_restarts) {
            give_up(who(i) + " " + why);
            return;
        }
        Slot& s = slots[i];
        prune(s.recent);
        auto delay = s.spec.backoff_initial;
        for (std::size_t n = 0; n < s.recent.size() && delay < s.spec.backoff_max; ++n) delay *= 2;
        delay = std::min(delay, s.spec.backoff_max);
        s.recent.push_back(now);
        s.due = now + delay;
        log().warn("{} {}; restarting in {} ms", who(i), why, delay.count());

        std::vector<std::uint32_t> affected;
        for (std::uint32_t j = 0; j < slots.size(); ++j) {
            const bool in = j == i || (spec.strategy == RestartStrategy::one_for_all) ||
                            (spec.strategy == RestartStrategy::rest_for_one && j > i);
            if (in && (j == i || slots[j].phase != Phase::stopped)) affected.push_back(j);
        }
        for (auto j = affected.rbegin(); j != affected.rend(); ++j) {
            if (*j == i) continue;
            Slot& sibling = slots[*j];
            // A temporary sibling that ran is stopped for good (never restarted); one
            // still waiting for its first start keeps its place.
            const bool for_good =
                sibling.spec.restart == RestartPolicy::temporary && sibling.phase != Phase::waiting;
            terminate(*j, sibling.spec.shutdown);
            if (for_good)
                sibling.phase = Phase::stopped;
            else
                ++sibling.restarts;
        }
        ++s.restarts;
        s.phase = Phase::waiting;
        for (auto j : affected)
            if (slots[j].phase != Phase::stopped) queue.insert(j);
    }

    void stop_children() {
        queue.clear();
        for (auto i = slots.size(); i-- > 0;)
            terminate(static_cast<std::uint32_t>(i), slots[i].spec.shutdown);
    }

    void give_up(const std::string& why) {
        gave_up = true;
        log().error("supervisor '{}' gives up: more than {} restarts in {} ms; the last: {}",
                    self.name(), spec.max_restarts, spec.period.count(), why);
        stop_children();
        self.stop();
    }

    void on_event(const ChildEvent& event) {
        if (gave_up || event.slot >= slots.size()) return;
        Slot& s = slots[event.slot];
        if (event.generation != s.generation) return;  // about a start that is over
        switch (event.kind) {
            case ChildEvent::exited:
                if (s.process) exited(event.slot);
                break;
            case ChildEvent::name_up:
                name_found(event.slot, event.name, event.pid);
                break;
            case ChildEvent::recheck_name:
                if (s.phase == Phase::starting && s.pending.count(event.name) != 0)
                    await_name(event.name);
                break;
            case ChildEvent::start_timeout:
                if (s.phase != Phase::starting) break;
                terminate(event.slot, milliseconds(0));
                ended(event.slot,
                      "did not register its names within " +
                          std::to_string(s.spec.start_timeout.count()) + " ms",
                      true);
                break;
            default:  // start_due: advance() below
                break;
        }
        advance();
    }

    Children report() const {
        Children out;
        for (const auto& s : slots) {
            out.children.push_back(ChildInfo{s.spec.id, s.pid(), to_string(s.phase), s.restarts,
                                             s.last_exit, s.start_times_ms, s.spec.host});
        }
        return out;
    }
};

Supervisor::Supervisor(SupervisorSpec spec) {
    std::set<std::string> ids;
    for (const auto& child : spec.children) {
        if (child.id.empty() || !ids.insert(child.id).second)
            throw std::invalid_argument("Supervisor: every child needs an id of its own ('" +
                                        child.id + "')");
        if (child.process.argv.empty())
            throw std::invalid_argument("Supervisor: child '" + child.id + "' has no argv");
        if (!child.host.empty() && child.names.empty())
            throw std::invalid_argument("Supervisor: child '" + child.id + "' on host '" +
                                        child.host + "' needs names (their Down is its end)");
    }
    state_ = std::make_unique<State>(*this, std::move(spec));
}

Supervisor::~Supervisor() = default;

void Supervisor::on_start() {
    State& state = *state_;
    state.core = &detail::NodeAccess::core(node());
    {
        std::lock_guard lock(state.inbox->mutex);
        state.inbox->node = &node();
        state.inbox->name = name();
    }
    handle([&state](ChildEvent& event) { state.on_event(event); });
    // A child's names coming up (await_name); a Down for monitor 0 is an await courierd
    // would not take (too many): looked at again shortly, as a name not up yet.
    handle([&state](Up& up) { state.on_up(up.name, up.pid); });
    handle([&state](Down& down) {
        if (down.monitor == 0)
            state.on_up(down.name, 0);
        else
            state.on_down(down.monitor, down);
    });
    handle([this](WhichChildren&) { reply(state_->report()); });
    for (std::uint32_t i = 0; i < state.slots.size(); ++i) state.queue.insert(i);
    state.advance();
}

void Supervisor::on_stop() {
    state_->inbox->close();
    state_->stop_children();
}

}  // namespace courier
