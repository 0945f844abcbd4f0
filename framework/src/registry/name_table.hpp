#pragma once
/// @file
/// What courierd knows and what each registry request does to it: the live nodes, the
/// actor names they hold, watches, waiting lookups, and who awaits a name's coming up.
/// The server around it (registry_server.cpp) owns the connections and hands it whole
/// frames. The groups of those names are a table of their own (group_table.hpp) that it
/// hands the group requests to.

#include "reactor.hpp"

#include "registry/group_table.hpp"
#include "registry/host_table.hpp"
#include "registry/inspections.hpp"
#include "registry/name_table_file.hpp"
#include "registry/placement_protocol.hpp"
#include "registry/protocol_violation.hpp"
#include "registry/registry_protocol.hpp"

#include <courier/serialization/codec.hpp>
#include <courier/serialization/envelope.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace courier::registry {

class Placements;

/// The server's name for one connection; never reused while courierd runs.
using ConnectionId = std::uint64_t;

/// Where the table's frames go: the server, which owns the connections.
class Outbox {
  public:
    /// Sends a whole frame to connection `to`; nothing when it is gone or closing.
    virtual void send(ConnectionId to, std::span<const std::byte> frame) = 0;
    /// The pid of the process at the other end of connection `id`, as the kernel says
    /// (SO_PEERCRED); 0 when unknown.
    virtual std::int64_t peer_pid(ConnectionId id) const = 0;

  protected:
    ~Outbox() = default;
};

/// Where this host's names go in etcd mode, besides the hosts subscribed to them
/// (etcd_federation.hpp). Each call returns at once; a claim is answered later, on the
/// reactor thread.
class Cluster {
  public:
    /// `done("")` once `entry`'s name is this host's in the cluster; `done(why)` when not.
    virtual void claim(const HostName& entry,
                       std::function<void(const std::string& refusal)> done) = 0;
    /// A name this host holds already (after a restart of courierd, or of the cluster).
    virtual void name_up(const HostName& entry) = 0;
    virtual void name_down(const HostName& entry, const std::string& reason) = 0;
    virtual void group_change(const GroupChange& change) = 0;

  protected:
    ~Cluster() = default;
};

/// The registry's state, one entry per connection that has sent a request, and the
/// handlers of the registry protocol (registry_protocol.hpp). Runs on one thread: the
/// reactor's, whose timers end waiting lookups.
class NameTable {
  public:
    /// The names one connection may await a NameUp for (Lookups that found nothing);
    /// past that, its Lookups say notify_up false. Bounded so that a client asking for
    /// millions of unknown names cannot grow courierd without bound.
    static constexpr std::size_t max_awaiting_up = 4096;

    /// `snapshot`: the file (name_table_file.hpp) that carries the table over a restart of
    /// courierd; read now, written after each change. Empty: nothing kept. `host`: this
    /// host's name in `name@host` (empty: the kernel's host name); `beat`: how often the
    /// hosts that subscribe to this one's names hear from it.
    NameTable(Outbox& out, detail::Reactor& timers, std::filesystem::path snapshot = {},
              std::string host = {}, std::chrono::milliseconds beat = std::chrono::seconds(1));
    ~NameTable();  ///< cancels the timers of waiting lookups and of the sweep
    NameTable(const NameTable&) = delete;
    NameTable& operator=(const NameTable&) = delete;

    /// Serves one frame from connection `from`: a request, answered through the outbox.
    /// Throws ProtocolViolation for a frame that is not a valid request to courierd.
    void handle(ConnectionId from, std::span<const std::byte> frame);
    /// Forgets connection `id` as it closes: its node and names (their watchers get
    /// NameDown "node exited", and their groups' watchers GroupChange), its watches of names
    /// and of groups, its waiting lookups and the names it awaits.
    void forget(ConnectionId id, const std::string& reason);

    // ---- the federation (docs/multihost.md): the server owns its connections ----

    /// Connection `id` came from another host (the federation's listener): it may only
    /// subscribe to this host's names.
    void from_host(ConnectionId id) { from_hosts_.insert(id); }
    /// Connection `id` was dialed to the peer at place `order` of the config's list, whose
    /// courierd listens at `address`: it subscribes to that host's names, and resolves
    /// plain names in that order.
    void dialed(ConnectionId id, std::size_t order, std::string address = {});
    /// Other hosts reach this courierd at `listen` (empty: they cannot), and it starts
    /// programs for them through `placements` (nullptr: it places none).
    void serve_placements(Placements* placements, std::string listen) {
        placements_ = placements;
        listen_ = std::move(listen);
    }
    /// Tells every host subscribed to this one's names that it is alive (a timer's tick).
    void beat();
    /// The dialed connections silent since before `since`, whose hosts count as gone.
    std::vector<ConnectionId> silent_hosts(std::chrono::steady_clock::time_point since) const {
        auto silent = hosts_.silent_since(since);
        // The hosts etcd tells of are no connections: their leases say when they end.
        std::erase_if(silent,
                      [](ConnectionId id) { return id >= cluster_base && id < detached_base; });
        return silent;
    }
    /// This host's name in `name@host`.
    const std::string& host() const noexcept { return hosts_.host(); }

    // ---- etcd mode (name_table_cluster.cpp): the cluster tells of the other hosts ----

    /// From now on, a name is registered only once `cluster` gave it to this host, and
    /// this host's names and memberships go to it too, starting with those held now.
    /// nullptr: no more.
    void join_cluster(Cluster* cluster);
    /// Another host came, with its names and memberships; changes to them; its end.
    void cluster_host_up(const HostNames& all, const std::string& courierd = {});
    void cluster_host_gone(const std::string& host, const std::string& reason);
    void cluster_name_up(const std::string& host, const HostName& entry);
    void cluster_name_down(const std::string& host, const HostNameDown& down);
    void cluster_group_change(const std::string& host, const GroupChange& change);

    /// The pid and endpoints of the node on connection `id`; nullopt for a client that is
    /// no node.
    struct NodeProcess {
        std::int64_t pid = 0;
        std::vector<std::string> endpoints;
    };
    std::optional<NodeProcess> node_process(ConnectionId id) const;

    /// True while a node is registered; courierd exits on idle only when none is.
    bool has_nodes() const noexcept { return !nodes_.empty(); }
    /// True while a node is connected; the others are held after a restart (detached).
    bool has_connected_nodes() const noexcept;
    /// "#3" or "#3 of node 'a' (pid 12)", for logs.
    std::string describe(ConnectionId id) const;

  private:
    /// One connection as the protocol sees it: a node once it sent RegisterNode, else an
    /// anonymous client (the CLI).
    struct Client {
        std::string reply_to;  ///< the sender name of its last request
        std::string node;      ///< empty until RegisterNode
        std::int64_t pid = 0;
        std::uint64_t start_time = 0;  ///< its process's (process_start_time), 0 unknown
        /// A node a courierd before us registered, still running, not connected yet: its
        /// names are held for it until it connects again or its process ends.
        bool detached = false;
        std::vector<std::string> endpoints;
        std::set<std::string> names;
        std::set<std::string> watching;
        std::set<std::string> awaiting_up;  ///< names it gets a NameUp for
    };
    /// A Lookup waiting for its name to be registered, or for its timer.
    struct WaitingLookup {
        ConnectionId connection = 0;
        std::uint64_t correlation = 0;
        std::string name;
        detail::Reactor::TimerId timer;
    };

    template <class T>
    void send(ConnectionId to, std::uint8_t flags, std::uint64_t correlation, const T& message);
    template <class T>
    void reply(ConnectionId to, std::uint64_t correlation, const T& message);

    Status register_node(ConnectionId id, Client& c, const RegisterNode& r);
    Status register_name(ConnectionId id, Client& c, const RegisterName& r);
    /// Why connection `id` may not register `name`; an ok Status when it holds it already;
    /// nullopt when it may.
    std::optional<Status> registration_check(ConnectionId id, Client& c, const std::string& name);
    /// Connection `id`'s node holds `name` from now on: watchers, lookups and hosts are told.
    void hold_name(ConnectionId id, Client& c, const std::string& name, std::uint64_t incarnation);
    /// etcd mode: registers `r.name` once the cluster gave it to this host, then answers.
    void claim_name(ConnectionId id, Client& c, std::uint64_t correlation, const RegisterName& r);
    /// The id under which another host the cluster told of is in hosts_; nullopt if unknown.
    std::optional<ConnectionId> cluster_id(const std::string& host) const;
    Status unregister_name(ConnectionId id, Client& c, const UnregisterName& r);
    void lookup(ConnectionId id, Client& c, std::uint64_t correlation, const Lookup& r);
    void watch(ConnectionId id, Client& c, std::uint64_t correlation, const Watch& r);
    void inspect(ConnectionId id, std::uint64_t correlation, const InspectNode& r);
    NodeList list_nodes() const;

    Location location_of(const std::string& name) const;
    /// A frame on a connection this courierd dialed to another host (host_protocol.hpp).
    void host_notice(ConnectionId from, const EnvelopeView& envelope);
    /// Where host `r.host`'s courierd listens, for a node that places a program there.
    HostAddress host_address(const LookupHost& r) const;
    /// Another host (or a local client) asks this one to start, or stop, a program.
    Placed place(const PlaceProgram& r);
    Status stop_placed(const StopPlaced& r);
    /// Answers another host's SubscribeHost with this host's names, and keeps telling it.
    void subscribe_host(ConnectionId id, std::uint64_t correlation, const SubscribeHost& r);
    /// Follows the names other hosts gained or lost: answers lookups and tells watchers.
    void apply(const std::vector<HostTable::Change>& changes);
    /// Tells the subscribed hosts of a change to this host's names.
    void publish_up(const std::string& name);
    void publish_down(const Location& gone, const std::string& reason);
    HostName entry_of(const std::string& name) const;
    void answer_lookups(const std::string& name);
    void expire_lookup(std::uint64_t serial);
    /// Tells the watchers of `name` that the registration `gone` (its Location) ended.
    void name_down(const Location& gone, const std::string& reason);
    /// Promises connection `id` a NameUp when `name` is registered; false when it has
    /// max_awaiting_up promises already.
    bool await_up(ConnectionId id, Client& c, const std::string& name);
    void name_up(const std::string& name);

    /// Forgets the node of connection `id` and its names (their watchers get NameDown).
    void drop_node(ConnectionId id, const std::string& reason);
    /// Drops a node whose process has ended (detached, or connected with its connection's
    /// end not read yet); true if it did.
    bool drop_if_dead(ConnectionId id);
    /// Holds the names of the saved nodes that still run (a courierd before us died).
    void adopt(const Snapshot& saved);
    /// Looks at the detached nodes every half second while there are any.
    void sweep_later();
    void save() const;

    Outbox& out_;
    detail::Reactor& timers_;
    std::map<ConnectionId, Client> clients_;
    std::map<std::string, ConnectionId> nodes_;          ///< node name -> its connection
    std::map<std::string, ConnectionId> names_;          ///< actor name -> its node's connection
    std::map<std::string, std::uint64_t> incarnations_;  ///< actor name -> its registration
    std::uint64_t next_incarnation_;  ///< from the clock: never reused across restarts
    std::map<std::string, std::set<ConnectionId>> watchers_;
    std::map<std::string, std::set<ConnectionId>> awaiting_up_;  ///< name -> who gets NameUp
    std::map<std::uint64_t, WaitingLookup> lookups_;             ///< by serial: in arrival order
    std::uint64_t next_lookup_ = 1;
    std::filesystem::path snapshot_;
    /// Ids of detached nodes: far above the server's connection ids.
    static constexpr ConnectionId detached_base = ConnectionId{1} << 62;
    ConnectionId next_detached_ = detached_base;
    std::optional<detail::Reactor::TimerId> sweep_;
    /// The groups of the names above; sends its notices through send(). Not in the snapshot.
    GroupTable groups_;
    /// Tools' questions to the nodes above, passed on and answered.
    Inspections inspections_;
    /// The other hosts of the federation, and who subscribed to ours.
    HostTable hosts_;
    std::set<ConnectionId> from_hosts_;  ///< connections from other hosts
    Placements* placements_ = nullptr;   ///< what this host starts for others
    std::string listen_;                 ///< where other hosts reach this courierd
    /// etcd mode: where this host's names go, the other hosts by the ids they have in
    /// hosts_ (far above the server's connection ids, below the detached nodes'), and
    /// the names being claimed.
    Cluster* cluster_ = nullptr;
    static constexpr ConnectionId cluster_base = ConnectionId{1} << 61;
    ConnectionId next_cluster_id_ = cluster_base;
    std::map<std::string, ConnectionId> cluster_hosts_;
    std::set<std::string> claiming_;
    const std::chrono::milliseconds beat_;
};

// ---- sending: templates, for the table's files ---------------------------------------

template <class T>
void NameTable::send(ConnectionId to, std::uint8_t flags, std::uint64_t correlation,
                     const T& message) {
    auto it = clients_.find(to);
    EnvelopeHeader header;
    header.flags = flags;
    header.correlation = correlation;
    header.sender = daemon_name;
    header.recipient = it == clients_.end() || it->second.reply_to.empty()
                           ? std::string_view("client")
                           : std::string_view(it->second.reply_to);
    out_.send(to, encode_message(header, message));
}

template <class T>
void NameTable::reply(ConnectionId to, std::uint64_t correlation, const T& message) {
    send(to, envelope_flags::reply, correlation, message);
}

}  // namespace courier::registry
