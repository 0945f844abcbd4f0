#include "registry/group_table.hpp"

#include "registry/protocol_violation.hpp"
#include "registry/refusals.hpp"

#include <courier/log.hpp>
#include <courier/serialization/envelope.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <utility>

namespace courier::registry {

// ---- requests ---------------------------------------------------------------------------

Status GroupTable::join(ConnectionId id, const Joiner& joiner, const JoinGroup& r) {
    if (!is_valid_name(r.group)) return refuse(invalid_name("group name", r.group));
    if (!is_valid_name(r.member)) return refuse(invalid_name("member name", r.member));
    // Only a node's own names: a member must go when its name does, which courierd sees
    // only for the names it holds for this connection.
    if (joiner.names.count(r.member) == 0)
        return refuse("cannot join group '" + r.group + "': the name '" + r.member +
                      "' is not registered by this connection's node");
    if (auto it = groups_.find(r.group); it != groups_.end() && it->second.serials.count(r.member))
        return {};  // a member already: nothing changes, nobody is told
    std::size_t& joined = joined_[id];
    if (joined >= max_memberships)
        return refuse("cannot join group '" + r.group + "': this node's names are in " +
                      std::to_string(max_memberships) +
                      " groups already, the most courierd keeps for one connection");
    ++joined;
    add(r.group, GroupMember{r.member, joiner.node, joiner.pid}, id, /*remote=*/false);
    return {};
}

Status GroupTable::leave(ConnectionId id, const LeaveGroup& r) {
    auto of = memberships_.find(r.member);
    if (of == memberships_.end() || of->second.groups.count(r.group) == 0)
        return refuse("'" + r.member + "' is not a member of group '" + r.group + "'");
    if (of->second.connection != id)
        return refuse("cannot take '" + r.member + "' out of group '" + r.group +
                      "': the name is not registered by this connection's node");
    remove(r.group, r.member, group_left);
    return {};
}

GroupList GroupTable::list(const std::string& group) const {
    GroupList list;
    list.group = group;
    if (!is_valid_name(group)) {
        list.error = invalid_name("group name", group);
        return list;
    }
    if (auto it = groups_.find(group); it != groups_.end())
        for (const auto& [serial, member] : it->second.members) list.members.push_back(member);
    return list;
}

GroupList GroupTable::watch(ConnectionId id, const std::string& group) {
    GroupList list = this->list(group);
    if (!list.error.empty()) return list;
    std::set<std::string>& mine = watching_[id];
    if (mine.count(group) == 0 && mine.size() >= max_watched_groups) {
        list.error = "this connection watches " + std::to_string(max_watched_groups) +
                     " groups already, the most courierd keeps for one";
        return list;
    }
    // Watching before the answer leaves: a join after the answer is told after it.
    mine.insert(group);
    watchers_[group].insert(id);
    list.watching = true;
    return list;
}

Status GroupTable::unwatch(ConnectionId id, const std::string& group) {
    if (auto mine = watching_.find(id); mine != watching_.end()) {
        mine->second.erase(group);
        if (mine->second.empty()) watching_.erase(mine);
    }
    if (auto w = watchers_.find(group); w != watchers_.end()) {
        w->second.erase(id);
        if (w->second.empty()) watchers_.erase(w);
    }
    return {};
}

GroupDirectory GroupTable::directory() const {
    GroupDirectory directory;
    for (const auto& [name, group] : groups_) directory.groups.push_back(list(name));
    return directory;
}

// ---- the other hosts' members ----------------------------------------------------------

std::vector<GroupChange> GroupTable::own_memberships() const {
    std::vector<std::pair<std::uint64_t, GroupChange>> joins;
    for (const auto& [name, group] : groups_)
        for (const auto& [serial, member] : group.members)
            if (!memberships_.at(member.name).remote)
                joins.emplace_back(serial, GroupChange{name, member, true, ""});
    std::sort(joins.begin(), joins.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<GroupChange> ordered;
    ordered.reserve(joins.size());
    for (auto& [serial, change] : joins) ordered.push_back(std::move(change));
    return ordered;
}

void GroupTable::remote_change(ConnectionId upstream, const std::string& host, GroupChange change) {
    GroupMember& m = change.member;
    // Members cross hosts only as their own host holds them: valid and unqualified.
    if (!is_valid_name(change.group) || !is_valid_name(m.name) || !is_valid_name(m.node) ||
        m.name.find('@') != std::string::npos || m.node.find('@') != std::string::npos)
        throw ProtocolViolation{"host '" + host + "' told of member '" + m.name + "' of group '" +
                                change.group + "', which is no valid name"};
    m.name += "@" + host;
    m.node += "@" + host;
    m.pid = 0;
    if (!change.joined) {
        remove(change.group, m.name, change.reason);
        return;
    }
    if (auto it = groups_.find(change.group);
        it != groups_.end() && it->second.serials.count(m.name))
        return;
    if (joined_[upstream] >= max_memberships)
        throw ProtocolViolation{"host '" + host + "' told of more than " +
                                std::to_string(max_memberships) + " memberships"};
    ++joined_[upstream];
    add(change.group, m, upstream, /*remote=*/true);
}

void GroupTable::drop_host(ConnectionId upstream, const std::string& reason) {
    std::vector<std::string> gone;
    for (const auto& [name, of] : memberships_)
        if (of.remote && of.connection == upstream) gone.push_back(name);
    for (const auto& name : gone) drop_member(name, reason);
}

// ---- what follows from a name or a connection going -------------------------------------

void GroupTable::drop_member(const std::string& name, const std::string& reason) {
    auto of = memberships_.find(name);
    if (of == memberships_.end()) return;
    // A copy: remove() erases from the original, and the entry itself with the last group.
    const std::set<std::string> groups = of->second.groups;
    for (const auto& group : groups) remove(group, name, reason);
}

void GroupTable::forget(ConnectionId id) {
    auto mine = watching_.find(id);
    if (mine == watching_.end()) return;
    for (const auto& group : mine->second) {
        auto w = watchers_.find(group);
        if (w == watchers_.end()) continue;
        w->second.erase(id);
        if (w->second.empty()) watchers_.erase(w);
    }
    watching_.erase(mine);
}

void GroupTable::remove(const std::string& group_name, const std::string& name,
                        const std::string& reason) {
    auto g = groups_.find(group_name);
    if (g == groups_.end()) return;
    Group& group = g->second;
    auto serial = group.serials.find(name);
    if (serial == group.serials.end()) return;
    auto member = group.members.find(serial->second);
    const GroupMember gone = std::move(member->second);
    group.members.erase(member);
    group.serials.erase(serial);
    if (group.members.empty()) groups_.erase(g);  // its watchers stay (watchers_)

    auto of = memberships_.find(name);
    const ConnectionId id = of->second.connection;
    const bool remote = of->second.remote;
    of->second.groups.erase(group_name);
    if (of->second.groups.empty()) memberships_.erase(of);
    if (auto joined = joined_.find(id); joined != joined_.end() && --joined->second == 0)
        joined_.erase(joined);

    log().debug("'{}' of node '{}' left group '{}': {}", name, gone.node, group_name, reason);
    tell(GroupChange{group_name, gone, false, reason}, remote);
}

void GroupTable::add(const std::string& group_name, const GroupMember& member,
                     ConnectionId connection, bool remote) {
    Group& group = groups_[group_name];
    const std::uint64_t serial = next_serial_++;
    group.members.emplace(serial, member);
    group.serials.emplace(member.name, serial);
    Memberships& of = memberships_[member.name];
    of.connection = connection;
    of.remote = remote;
    of.groups.insert(group_name);
    log().debug("'{}' of node '{}' joined group '{}'", member.name, member.node, group_name);
    tell(GroupChange{group_name, member, true, ""}, remote);
}

void GroupTable::tell(const GroupChange& change, bool remote) const {
    // This host's own changes go to the other hosts too; theirs only to our watchers.
    if (!remote) publish_(change);
    auto w = watchers_.find(change.group);
    if (w == watchers_.end()) return;
    for (auto id : w->second) notify_(id, change);
}

}  // namespace courier::registry
