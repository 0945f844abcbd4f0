#pragma once
/// @file
/// The inside of a Node: its parts, their life, and what they share. Node (public)
/// forwards to it. Each concept lives in a part named after it:
///
/// - LocalActors (local_actors.hpp): the names of this node's mailboxes;
/// - Router (router.hpp): where the letters for a name go;
/// - LinkSender (link_sender.hpp): encoding letters onto links, and when they leave;
/// - Peers (peers.hpp): the links to other nodes, and the frames that come in on them;
/// - Requests (requests.hpp): correlations, reply waiters, timeouts;
/// - Heartbeats (heartbeats.hpp): links that must show they live, or are dropped;
/// - Monitors (monitors.hpp): who waits for a Down about which name;
/// - Groups (groups.hpp): the groups this node's actors joined, send to or watch;
/// - DeadLetterLog (dead_letter_log.hpp): what could not be delivered, said once a second;
/// - Scheduler (scheduler.hpp) and Reactor (reactor.hpp): the threads.
///
/// The parts reach each other through the NodeCore they belong to.

#include "actor_cell.hpp"
#include "dead_letter_log.hpp"
#include "groups.hpp"
#include "heartbeats.hpp"
#include "link_sender.hpp"
#include "local_actors.hpp"
#include "monitors.hpp"
#include "node_protocol.hpp"
#include "peers.hpp"
#include "reactor.hpp"
#include "registry/registry_client.hpp"
#include "requests.hpp"
#include "router.hpp"
#include "scheduler.hpp"

#include <courier/framework/node.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace courier::detail {

/// Why a stopping node closes its links (Peers::close_links): one word, the one a Down
/// for a stopped actor gives too.
inline constexpr std::string_view node_stopped = "stopped";

/// An actor whose handlers a setup function registers when it starts (Node::spawn).
struct FunctionActor final : Actor {
    explicit FunctionActor(std::function<void(Actor&)> f) : setup(std::move(f)) {}
    void on_start() override { setup(*this); }
    std::function<void(Actor&)> setup;
    /// Each actor it builds runs its own copy of `setup` (a restart starts from scratch).
    static ActorFactory factory(std::function<void(Actor&)> setup) {
        return [setup = std::move(setup)] { return std::make_unique<FunctionActor>(setup); };
    }
};

class NodeCore final {
  public:
    /// Reads the config and checks the name; throws SetupError. `by_hand`: no worker
    /// threads and no timers of its own; a test runs the actors' turns (Scheduler::run_one)
    /// and moves the timers' clock (Reactor::advance) itself.
    NodeCore(Node& owner, NodeOptions options, bool by_hand = false);
    ~NodeCore();

    /// Starts the threads, listens, registers, and enlists for SIGTERM and SIGINT
    /// (NodeOptions::handle_signals). Throws SetupError.
    void start();
    /// Stops the node, the same way for its destructor and for a signal (node_stop.cpp):
    /// no new links; every actor handles the letters already in its mailbox (for up to
    /// NodeOptions::drain_timeout; what is left then bounces as `stopped`), then stops,
    /// running its on_stop and unregistering its name; then the node's links close. The
    /// node stays usable as an empty node with no links. Idempotent.
    void stop();
    /// stop() in two halves, so that the signals' thread starts every node's drain before
    /// it waits for any: begin_stop() closes the listeners and asks every actor to stop;
    /// finish_stop() waits for them and closes the links.
    void begin_stop();
    void finish_stop();
    /// Past the drain's deadline: an actor's next turn stops it, whatever its mailbox
    /// holds (ActorCell::run).
    bool hurried() const noexcept { return hurry_.load(std::memory_order_relaxed); }

    const std::string& name() const noexcept { return name_; }
    const NodeOptions& options() const noexcept { return options_; }
    const Config& config() const noexcept { return config_; }

    Scheduler& scheduler() noexcept { return *scheduler_; }
    Reactor& reactor() noexcept { return *reactor_; }
    /// Null for a node without a registry (NodeOptions::use_registry).
    RegistryClient* registry() noexcept { return registry_.get(); }
    LocalActors& actors() noexcept { return actors_; }
    Peers& peers() noexcept { return peers_; }
    Router& router() noexcept { return router_; }
    LinkSender& sender() noexcept { return sender_; }
    Requests& requests() noexcept { return requests_; }
    Monitors& monitors() noexcept { return monitors_; }
    Groups& groups() noexcept { return groups_; }
    Heartbeats& heartbeats() noexcept { return heartbeats_; }

    struct Counters {
        std::atomic<std::uint64_t> delivered_local{0}, sent_remote{0}, received_remote{0},
            dead_letters{0}, handler_failures{0}, bad_frames{0}, registry_lookups{0}, restarts{0};
    };
    Counters& counters() noexcept { return counters_; }
    void count_handler_failure() noexcept { ++counters_.handler_failures; }
    NodeStats stats() const noexcept;

    /// Makes `actor` a live actor of this node under `name`, registered on the host.
    /// `again` builds it anew for a restart (empty: it cannot restart);
    /// `parent` is told when it fails past its policy (empty: none). Throws SetupError.
    void adopt(std::string name, std::unique_ptr<Actor> actor, ActorFactory again = {},
               std::string parent = {});
    void stop_actor(std::string_view name);
    /// The cell finished (stopped): forget its name here and in the registry. `why` is
    /// the detail of its monitors' Down.
    void forget(const std::string& name, const ActorCell* cell, const std::string& why);

    /// Puts a letter in a mailbox of this node. (A template so that a letter for an
    /// ActorCell, a final class, calls its deliver directly.)
    template <class Box>
    void deliver_local(Box& box, Letter&& letter) {
        counters_.delivered_local.fetch_add(1, std::memory_order_relaxed);
        box.deliver(std::move(letter));
    }
    /// As above, the letter built in the cell's mailbox from `header` and `draft`.
    void deliver_local(ActorCell& cell, const EnvelopeHeader& header, Draft& draft) {
        counters_.delivered_local.fetch_add(1, std::memory_order_relaxed);
        cell.deliver(header, draft);
    }
    /// Sends `letter` back to its sender as a DeadLetter (if it has one), counts it, and
    /// logs it (once a second for its recipient and code: DeadLetterLog).
    /// `bounce` false: counted and logged only (a letter dropped by Overflow::drop_newest).
    void dead_letter(const Letter& letter, ErrorCode code, const std::string& reason,
                     bool bounce = true);
    /// What `courier links` and `courier ps` get: the links and the dead letters.
    LinkList link_list();

    bool wait_for(std::string_view name, std::chrono::milliseconds timeout);
    /// The registry connection is back (a restarted courierd): the node, its names and its
    /// monitors are registered again. On the reactor thread.
    void register_again();
    void shutdown() noexcept;
    void wait();

  private:
    Node& owner_;
    NodeOptions options_;
    const bool by_hand_;
    Config config_;
    std::string name_;
    Counters counters_;

    LocalActors actors_;
    Peers peers_{*this};
    LinkSender sender_{*this};
    Router router_{*this};
    Requests requests_{*this};
    Monitors monitors_{*this};
    Groups groups_{*this};
    Heartbeats heartbeats_{*this};

    std::unique_ptr<Reactor> reactor_;
    std::unique_ptr<DeadLetterLog> dead_letter_log_;  ///< on reactor_'s timers, from start()
    std::unique_ptr<Scheduler> scheduler_;
    std::unique_ptr<RegistryClient> registry_;

    std::mutex run_mutex_;
    std::condition_variable run_cv_;
    bool shutdown_requested_ = false;
    std::size_t live_cells_ = 0;
    bool stopping_ = false;  ///< begin_stop() ran (guarded by run_mutex_)
    std::chrono::steady_clock::time_point drain_deadline_;  ///< guarded by run_mutex_
    std::atomic<bool> hurry_{false};
    bool enlisted_ = false;  ///< in StopSignals
};

}  // namespace courier::detail
