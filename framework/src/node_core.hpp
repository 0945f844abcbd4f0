#pragma once
/// @file
/// The inside of a Node: its actors, its links to other nodes, and the routing between
/// them. Node (public) forwards to it; actor cells and the reactor call back into it.

#include "actor_cell.hpp"
#include "node_protocol.hpp"
#include "reactor.hpp"
#include "registry/registry_client.hpp"
#include "scheduler.hpp"

#include <courier/framework/node.hpp>
#include <courier/transports/listener.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace courier::detail {

/// A link to another node, shared by the letters that came over it (to reply).
struct PeerLink {
    std::string node;  ///< learned from the Hello frame on accepted links
    std::unique_ptr<Link> link;
    std::string transport;  ///< scheme
    std::string reason;     ///< why this transport (Selection::describe, or "accepted")
    bool initiated = false;
    std::atomic<bool> broken{false};
    std::atomic<std::uint64_t> frames_sent{0}, bytes_sent{0}, frames_received{0}, bytes_received{0},
        errors{0};
    /// Frames sent with `more` since the link last wrote everything: lost if a flush fails.
    std::atomic<std::uint64_t> unflushed{0};
    /// Held while frames are taken from the link and delivered, by the reactor or by a
    /// worker polling it: one receiver at a time, in order.
    std::mutex receiving;
    std::vector<Frame> inbox;  ///< guarded by `receiving`; reused
    /// Guarded by `receiving`: where the last letter from this link went, so a stream of
    /// letters to one actor skips the node's name table and the type registry.
    struct LastDelivery {
        std::string recipient;
        std::shared_ptr<Mailbox> box;
        std::uint64_t names_generation = 0;  ///< NodeCore::names_generation_ when found
        TypeId type = 0;                     ///< a type known to MessageRegistry
    } last;
};

class NodeCore final : private IdlePoll {
  public:
    NodeCore(Node& owner, NodeOptions options);
    ~NodeCore() override;

    void start();
    void stop_all();

    const std::string& name() const noexcept { return name_; }
    Node& owner() noexcept { return owner_; }
    Scheduler& scheduler() noexcept { return *scheduler_; }

    void adopt(std::string name, std::unique_ptr<Actor> actor, bool internal = false);
    void stop_actor(std::string_view name);
    /// The cell finished (stopped): forget its name here and in the registry.
    void forget(const std::string& name, const ActorCell* cell);

    /// Routes a letter. `draft`, when given, is its body still on the sender's stack
    /// (`letter.body` is null): encoded straight into the frame if the letter leaves the
    /// process, detached into the letter only if it stays.
    void post(Letter&& letter, Draft* draft = nullptr);
    /// Puts a letter in the mailbox of an actor of this node. (A template so that a send
    /// to an ActorCell, a final class, calls its deliver directly.)
    template <class Box>
    void deliver_local(Box& box, Letter&& letter) {
        stats_.delivered_local.fetch_add(1, std::memory_order_relaxed);
        box.deliver(std::move(letter));
    }
    /// As above, the letter built in the mailbox from `header` and `draft`.
    void deliver_local(ActorCell& cell, const EnvelopeHeader& header, Draft& draft);
    /// The cell of the actor named `name` in this node, or null.
    std::shared_ptr<ActorCell> find_cell(const std::string& name);
    /// The open link to the node that has `name`, if a send found it already, else null.
    std::shared_ptr<PeerLink> known_peer(const std::string& name);
    /// Changes whenever a route found by known_peer() may have become wrong.
    std::uint64_t route_generation() const noexcept {
        return route_generation_.load(std::memory_order_acquire);
    }
    /// Encodes `letter` with `body` (its own or its draft) and sends it over `peer`.
    /// `names_checked`: the caller knows both names of the letter to be valid (an actor's
    /// send over a cached route), so the envelope does not check them again.
    void send_remote(Letter& letter, const Body& body, const std::shared_ptr<PeerLink>& peer,
                     bool names_checked = false);
    Letter await_reply(Letter request, std::chrono::milliseconds timeout);
    bool wait_for(std::string_view name, std::chrono::milliseconds timeout);
    void watch(const std::string& watcher, std::string_view name);
    /// Posts the timeout letter to `actor` for request `correlation` after `timeout`.
    void arm_timeout(const std::string& actor, std::uint64_t correlation,
                     std::chrono::milliseconds timeout);
    std::uint64_t next_correlation() noexcept { return ++correlation_; }

    /// While one lives on a thread (an actor's turn, ActorCell::run), that thread's remote
    /// sends through this node pass `more` to their link, which may keep them; when it
    /// ends it flushes every link they went to. A link whose flush fails is dropped.
    class SendBatch {
      public:
        explicit SendBatch(NodeCore& node) noexcept;
        ~SendBatch();
        SendBatch(const SendBatch&) = delete;
        SendBatch& operator=(const SendBatch&) = delete;

      private:
        bool active_;  ///< false when nested in a batch already open on this thread
    };
    /// Flushes the links this thread's current batch sent to (before a handler blocks).
    void flush_batch() noexcept;

    /// Sends `letter` back to its sender as a DeadLetter (if it has one), counts and logs it.
    void dead_letter(const Letter& letter, ErrorCode code, const std::string& reason);
    void count_handler_failure() noexcept { ++stats_.handler_failures; }

    void shutdown() noexcept;
    void wait();
    NodeStats stats() const noexcept;
    std::vector<LinkInfo> links();
    std::vector<std::string> endpoints() const;
    ChildProcess spawn_process(ProcessOptions options);

  private:
    struct Counters {
        std::atomic<std::uint64_t> delivered_local{0}, sent_remote{0}, received_remote{0},
            dead_letters{0}, handler_failures{0}, bad_frames{0};
    };

    std::shared_ptr<Mailbox> find_local(const std::string& name);
    /// The mailbox for a letter `peer` brought to `recipient` (through peer->last), or null.
    Mailbox* find_local_for(PeerLink& peer, std::string_view recipient);
    /// Removes a name from local_; caller holds names_mutex_ exclusively.
    void erase_local(std::unordered_map<std::string, std::shared_ptr<Mailbox>>::iterator it);
    std::shared_ptr<PeerLink> peer_for(const std::string& name, std::string& why_not);
    std::shared_ptr<PeerLink> connect_peer(const registry::Location& where);
    void watch_link(const std::shared_ptr<PeerLink>& peer);
    void listen_on_transports();
    void on_accept(Listener& listener);
    void on_readable(const std::shared_ptr<PeerLink>& peer);
    /// Takes the link's frames and delivers them; caller holds peer->receiving.
    void receive_frames(const std::shared_ptr<PeerLink>& peer);
    // IdlePoll: an idle worker polls the links that can be polled in memory.
    void polling(bool on) noexcept override;
    bool poll() override;
    /// Takes the current list of polled links into polling_ (the poller's copy).
    void refresh_polled();
    void on_frame(const std::shared_ptr<PeerLink>& peer, Frame& frame);
    void drop_peer(const std::shared_ptr<PeerLink>& peer, const std::string& reason);
    void on_name_down(const registry::NameDown& down);
    /// Takes the link the parent process left us (node_spawn.cpp), if any and not taken.
    void adopt_parent_link();
    /// The link to a child we spawned that `where` names, recorded under its node name;
    /// nullptr when `where` is not such a child. Called with peers_mutex_ held.
    std::shared_ptr<PeerLink> spawned_peer(const registry::Location& where);

    Node& owner_;
    NodeOptions options_;
    Config config_;
    std::string name_;
    std::atomic<std::uint64_t> correlation_{0};
    Counters stats_;

    std::unique_ptr<Scheduler> scheduler_;
    std::unique_ptr<Reactor> reactor_;
    std::unique_ptr<RegistryClient> registry_;
    std::vector<std::unique_ptr<Listener>> listeners_;

    std::shared_mutex names_mutex_;
    std::unordered_map<std::string, std::shared_ptr<Mailbox>> local_;
    std::atomic<std::uint64_t> names_generation_{0};  ///< bumped when local_ loses a name

    std::mutex peers_mutex_;
    std::map<std::string, std::shared_ptr<PeerLink>, std::less<>> peers_;  ///< by node name
    std::set<std::shared_ptr<PeerLink>> links_;                 ///< every open link, named or not
    std::unordered_map<std::string, std::string> route_cache_;  ///< actor name -> node name
    std::atomic<std::uint64_t> route_generation_{0};  ///< bumped when route_cache_ loses entries
    /// Links to children we spawned, by pid: routing finds them before their Hello arrives.
    std::map<pid_t, std::weak_ptr<PeerLink>> children_;
    /// The open links with Capabilities::memory_polling, and a count of its changes.
    std::vector<std::shared_ptr<PeerLink>> polled_;
    std::atomic<std::uint64_t> polled_version_{0};
    /// The polling worker's copy (only the worker holding the scheduler's poll token).
    std::vector<std::shared_ptr<PeerLink>> polling_;
    std::uint64_t polling_version_ = 0;
    unsigned polls_ = 0;  ///< poll() calls, by the polling worker

    std::mutex watch_mutex_;
    std::map<std::string, std::set<std::string>, std::less<>> watchers_;  ///< name -> actors

    std::mutex run_mutex_;
    std::condition_variable run_cv_;
    bool shutdown_requested_ = false;
    std::size_t live_cells_ = 0;
};

}  // namespace courier::detail
