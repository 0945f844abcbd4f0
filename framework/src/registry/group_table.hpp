#pragma once
/// @file
/// The actor groups of the host, as courierd keeps them: each group's members in the order
/// they joined, and which connections watch which group. NameTable (name_table.hpp) owns
/// one, hands it the group requests, and tells it when a member's name goes (unregistered,
/// or its node gone); the table answers and tells the watchers.
///
/// In a federation (docs/multihost.md) a group spans the hosts: the members of the other
/// hosts come from their courierds (a GroupChange on the connection this one dialed, their
/// memberships in HostNames), named `member@host` of node `node@host` with no pid (another
/// host's pid means nothing here). They go when their host says so, or with their host.
/// Only the changes of this host's own members are published to the hosts subscribed.
///
/// Groups are not in the snapshot that carries names over a restart of courierd
/// (name_table_file.hpp): a group is the nodes' wish of the moment, and they join and watch
/// again when they connect to the new courierd. Keeping them would only hand out members
/// whose nodes have not said yet that they still want them.

#include "registry/registry_protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace courier::registry {

/// The server's name for one connection (the same alias as in name_table.hpp, which
/// includes this header: a compiler error if they ever differ).
using ConnectionId = std::uint64_t;

/// Groups, their members and their watchers, and the handlers of the group requests.
/// Runs on courierd's one thread, as NameTable does.
class GroupTable {
  public:
    /// The groups one connection may watch; past that, WatchGroup answers watching false.
    /// Bounded, as NameTable::max_awaiting_up, so that no client grows courierd without
    /// bound by watching names it makes up.
    static constexpr std::size_t max_watched_groups = 4096;
    /// The memberships the names of one connection's node may hold, in all groups
    /// together; past that, JoinGroup is refused. Bounded for the same reason.
    static constexpr std::size_t max_memberships = 65536;

    /// How a notice leaves: NameTable's send, to connection `to`, unsolicited.
    using Notify = std::function<void(ConnectionId to, const GroupChange& change)>;
    /// How a change of this host's own members reaches the hosts subscribed.
    using Publish = std::function<void(const GroupChange& change)>;

    GroupTable(Notify notify, Publish publish)
        : notify_(std::move(notify)), publish_(std::move(publish)) {}

    /// The joining connection's node, as NameTable knows it: `names` are those it
    /// registered (empty for a connection that is no node).
    struct Joiner {
        const std::string& node;
        std::int64_t pid;
        const std::set<std::string>& names;
    };
    /// JoinGroup: refused for a name `joiner` did not register, an invalid group name, or
    /// past max_memberships. A real join tells the group's watchers before it returns, so
    /// their GroupChange leaves before the joiner's answer.
    Status join(ConnectionId id, const Joiner& joiner, const JoinGroup& r);
    /// LeaveGroup: refused when the member is not in the group or not this connection's.
    Status leave(ConnectionId id, const LeaveGroup& r);
    /// ListGroup: the members in join order; none for a group that does not exist.
    GroupList list(const std::string& group) const;
    /// WatchGroup: as list, and `id` gets the group's GroupChanges from now on (watching),
    /// unless the name is invalid or `id` watches max_watched_groups already.
    GroupList watch(ConnectionId id, const std::string& group);
    /// UnwatchGroup: always ok.
    Status unwatch(ConnectionId id, const std::string& group);
    /// ListGroups: every group, by name.
    GroupDirectory directory() const;

    /// Actor `name` went (`reason`: down_unregistered or down_node_exited): it leaves every
    /// group it is in, and their watchers are told.
    void drop_member(const std::string& name, const std::string& reason);
    /// Connection `id` closes: its watches end. (Its members go by drop_member, as its node
    /// goes.)
    void forget(ConnectionId id);

    // ---- the other hosts' members ----

    /// Every membership of this host's own members, as joins in join order (for HostNames).
    std::vector<GroupChange> own_memberships() const;
    /// `host` told, on connection `upstream`, that one of its members joined or left a
    /// group: its watchers here are told (the member qualified with `@host`). Throws
    /// ProtocolViolation for an invalid name, or past max_memberships for that host.
    void remote_change(ConnectionId upstream, const std::string& host, GroupChange change);
    /// The host of connection `upstream` is gone: its members leave every group (`reason`).
    void drop_host(ConnectionId upstream, const std::string& reason);

  private:
    /// A group exists while it has members.
    struct Group {
        std::map<std::uint64_t, GroupMember> members;  ///< by join serial: in join order
        std::map<std::string, std::uint64_t> serials;  ///< member name -> its join serial
    };
    /// The groups one actor name is in, and the connection of the node that holds it (or,
    /// `remote`, of the host that told of it).
    struct Memberships {
        ConnectionId connection = 0;
        bool remote = false;
        std::set<std::string> groups;
    };

    /// Adds `member` (held by `connection`) to `group` and tells the watchers.
    void add(const std::string& group, const GroupMember& member, ConnectionId connection,
             bool remote);

    /// Takes `name` out of `group` and tells the watchers (`reason` why it left).
    void remove(const std::string& group, const std::string& name, const std::string& reason);
    /// Tells the watchers of the change's group; and the other hosts, unless `remote`.
    void tell(const GroupChange& change, bool remote) const;

    Notify notify_;
    Publish publish_;
    std::map<std::string, Group> groups_;
    std::map<std::string, Memberships> memberships_;          ///< actor name -> its groups
    std::map<ConnectionId, std::size_t> joined_;              ///< connection -> its memberships
    std::map<std::string, std::set<ConnectionId>> watchers_;  ///< also of groups that ended
    std::map<ConnectionId, std::set<std::string>> watching_;  ///< connection -> its groups
    std::uint64_t next_serial_ = 1;
};

}  // namespace courier::registry
