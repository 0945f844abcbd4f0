#pragma once
/// @file
/// A node's links to other nodes: listening and accepting, connecting to the node that
/// has a name (and remembering which node that is), taking frames in and delivering their
/// letters, polling the links that can be polled in memory from an idle worker, and
/// dropping a link that broke. Children's links (child_links.cpp) live here too.

#include "peer_link.hpp"
#include "scheduler.hpp"
#include "unknown_names.hpp"

#include <courier/framework/child_process.hpp>
#include <courier/framework/system_messages.hpp>
#include <courier/transports/listener.hpp>
#include "registry/registry_protocol.hpp"

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace courier::detail {

/// Why a link whose peer closed it cleanly was dropped.
inline constexpr const char* closed_by_peer = "closed by the peer";

class NodeCore;

class Peers final : public IdlePoll {
  public:
    explicit Peers(NodeCore& node) noexcept : node_(node) {}

    /// Listens on every transport the node's config may ask for. Throws SetupError when
    /// it cannot listen on any it needs.
    void listen();
    /// Stops listening: each listener removes its endpoint. On the reactor's thread, or
    /// once it stopped: no accept may run on a listener as it goes.
    void close_listeners() noexcept;
    /// Closes every link and makes no new one (the node stopped): `find` says why not.
    void close_links(std::string_view reason);
    /// The endpoints other nodes can reach this node on, one per transport it listens on.
    std::vector<std::string> endpoints() const;
    /// The node's open links, as `courier links` shows them.
    std::vector<LinkInfo> links();
    /// What the links closed so far carried, summed per (peer node, transport): only the
    /// peer, the transport and the frame and byte counts are set. The metrics' totals
    /// add them, so that a counter never goes down when a link closes. At most
    /// `retired_peers` pairs are kept by name; the links of later peers are summed under
    /// the peer `(others)`.
    std::vector<LinkInfo> closed_links() const;
    static constexpr std::size_t retired_peers = 1024;

    /// The open link to the node that has the actor `name`, if a send found it already.
    std::shared_ptr<PeerLink> known(const std::string& name);
    /// As known(), else asks the registry where `name` lives and links to that node.
    /// Null with `why_not` set when there is no such actor or no link can be made. A name
    /// the registry did not know is not asked about again until it comes up (name_up).
    /// `ours`: set to the actor's own name when the registry says `name` (a name@host)
    /// is this node's.
    std::shared_ptr<PeerLink> find(const std::string& name, std::string& why_not,
                                   std::string* ours = nullptr);
    /// The registry says `name` is registered now (NameUp): find() asks about it again.
    void name_up(const std::string& name) { unknown_.name_up(name); }
    /// The registry connection is gone, and its promises of NameUp with it.
    void registry_lost() { unknown_.clear(); }
    /// Changes whenever a link found by known() or find() may have become wrong.
    std::uint64_t generation() const noexcept {
        return generation_.load(std::memory_order_acquire);
    }
    /// Forgets where `name` lives (it went down; it may come back elsewhere).
    void forget(const std::string& name);
    /// The node a send found the actor `name` on, while the link to it is open; else empty.
    std::string node_of(const std::string& name);

    /// The node at the other end of `peer` is short of the credit this node grants it, on
    /// any link to it: it waits on this node's actors.
    bool waits_on_us(const PeerLink& peer);

    /// Closes the link and forgets it and the names that lived behind it.
    void drop(const std::shared_ptr<PeerLink>& peer, const std::string& reason);

    /// Starts a child process linked to this node (Node::spawn_process).
    ChildProcess spawn_process(ProcessOptions options);
    /// Takes the link the parent process left us, if any and not taken.
    void adopt_parent_link();

  private:
    /// The schemes this node listens on, for choosing a link's transport.
    std::vector<std::string> listening_schemes() const;
    std::shared_ptr<PeerLink> connect(const registry::Location& where);
    /// Starts receiving from a new link.
    void watch(const std::shared_ptr<PeerLink>& peer);
    /// Stops receiving from it (its descriptors leave the reactor).
    void unwatch(const PeerLink& peer);
    void on_accept(Listener& listener);
    void on_readable(const std::shared_ptr<PeerLink>& peer);
    /// Takes the link's frames and delivers them; caller holds peer->receiving.
    void receive(const std::shared_ptr<PeerLink>& peer);
    /// What one receive() took in: credited letters, and how many the peer may send.
    struct Intake {
        std::uint64_t credited = 0;
        std::uint64_t room = 0;
    };
    /// Delivers the frame's letter, counted in `intake`; a credited letter beyond the
    /// peer's credit closes the link instead.
    void on_frame(const std::shared_ptr<PeerLink>& peer, Frame& frame, Intake& intake);
    /// The peer's Hello says it is node `node`. The link is named at once when the way
    /// it was made vouches for that: our spawned child's (we hold the only other end), or
    /// tcp's, whose peer proved the cookie (Link::peer_pid() is 0). Else the claim waits
    /// in claims_ for the registry to say which pid has that node (verify, on a worker;
    /// or find(), which asks it anyway). Only the first Hello of a link counts.
    void claim(const std::shared_ptr<PeerLink>& peer, const std::string& node);
    /// Asks the registry which pid has node `node`, and settles the claim of `peer`
    /// (process `pid`): named if the registry lists that pid; refused, logged and closed
    /// if it lists another; left unnamed, with a warning, if it lists none.
    void verify(const std::shared_ptr<PeerLink>& peer, const std::string& node, pid_t pid);
    /// Names the link and routes to its node over it (unless a link to it is known
    /// already). Called with mutex_ held.
    void bind(const std::shared_ptr<PeerLink>& peer, const std::string& node);
    /// The open links to the node at the other end of `peer` (`peer` too, if open).
    std::vector<std::shared_ptr<PeerLink>> links_of(const PeerLink& peer);
    /// Lets the actors parked on the credit of any link to `peer`'s node run again: the
    /// node waits on us, and they may hold its letters.
    void release_parked(PeerLink& peer);
    /// Counts the open links whose node has another open link (twice_linked_). Called
    /// with mutex_ held, whenever a link opens, learns its node or closes.
    void recount_twice_linked();
    /// The peer granted credit (a Credit frame's payload).
    void granted(const std::shared_ptr<PeerLink>& peer, std::span<const std::byte> payload);
    /// A letter from `peer` goes no further than here (a dead letter): its credit goes back.
    void refused(const std::shared_ptr<PeerLink>& peer, const EnvelopeHeader& header,
                 const Frame& frame);
    /// The link to a child we spawned that `where` names, recorded under its node name;
    /// null when `where` is not such a child. Called with mutex_ held.
    std::shared_ptr<PeerLink> spawned(const registry::Location& where);
    /// Adds what a closing link carried to retired_ (mutex_ held).
    void retire(const PeerLink& peer);
    // IdlePoll: an idle worker polls the links that can be polled in memory.
    bool polling(bool on) noexcept override;
    bool poll(bool descriptors) override;
    bool yield_while_polling() const noexcept override { return polling_yields_; }
    /// The node's reactor lets a worker wait for the links read through descriptors (a
    /// node with one CPU): it does, and receives their frames itself.
    bool waits() const noexcept override;
    bool wait() override;
    void interrupt() noexcept override;
    /// Takes the current list of polled links into polling_ (the poller's copy).
    void refresh_polled();

    NodeCore& node_;
    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<Listener>> listeners_;  ///< guarded by mutex_
    /// close_links() ran: no link is made any more.
    std::atomic<bool> closed_{false};
    std::map<std::string, std::shared_ptr<PeerLink>, std::less<>> by_node_;
    std::set<std::shared_ptr<PeerLink>> links_;  ///< every open link, named or not
    /// closed_links(), by (peer node, transport); guarded by mutex_.
    std::map<std::pair<std::string, std::string>, LinkInfo> retired_;
    /// Links in links_ to a node that another one also links to (both linked at once).
    std::atomic<std::size_t> twice_linked_{0};
    /// Accepted links whose Hello's claim the registry has not confirmed yet, by the node
    /// they claim to be, with the pid the kernel gave for them.
    struct Claim {
        std::shared_ptr<PeerLink> peer;
        pid_t pid = 0;
    };
    std::multimap<std::string, Claim, std::less<>> claims_;
    std::unordered_map<std::string, std::string> routes_;  ///< actor name -> node name
    std::atomic<std::uint64_t> generation_{0};             ///< bumped when routes_ loses entries
    UnknownNames unknown_;  ///< names the registry did not know (its own lock)
    /// Links to children we spawned, by pid: routing finds them before their Hello arrives.
    std::map<pid_t, std::weak_ptr<PeerLink>> children_;
    /// The open links with Capabilities::memory_polling, and a count of its changes.
    std::vector<std::shared_ptr<PeerLink>> polled_;
    std::atomic<std::uint64_t> polled_version_{0};
    /// The polling worker's copy (only the worker holding the scheduler's poll token).
    std::vector<std::shared_ptr<PeerLink>> polling_;
    std::uint64_t polling_version_ = 0;
    bool polling_yields_ = false;  ///< a link of polling_ has Capabilities::handover_thread
    unsigned polls_ = 0;           ///< poll() calls, by the polling worker
};

}  // namespace courier::detail
