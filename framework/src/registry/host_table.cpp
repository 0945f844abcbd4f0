#include "registry/host_table.hpp"

#include "registry/protocol_violation.hpp"
#include "registry/registry_protocol.hpp"

#include <courier/serialization/envelope.hpp>

#include <algorithm>

namespace courier::registry {

void HostTable::dialed(ConnectionId upstream, std::size_t order, Clock::time_point now,
                       std::string address) {
    Upstream& u = upstream_[upstream];
    u.order = order;
    u.heard = now;
    u.address = std::move(address);
}

std::optional<std::string> HostTable::address_of(const std::string& host) const {
    for (const auto& [id, u] : upstream_)
        if (u.host == host) return u.address;
    return std::nullopt;
}

HostTable::Upstream& HostTable::upstream(ConnectionId id) {
    auto it = upstream_.find(id);
    if (it == upstream_.end())
        throw ProtocolViolation{"a host's notice on a connection not dialed"};
    return it->second;
}

namespace {
void check_entry(const HostName& entry) {
    // Names cross hosts only as their own host registered them: valid, unqualified.
    if (!is_valid_name(entry.name) || entry.name.find('@') != std::string::npos ||
        !is_valid_name(entry.node) || entry.node.find('@') != std::string::npos)
        throw ProtocolViolation{"a host announced an invalid name '" + entry.name + "' of node '" +
                                entry.node + "'"};
}

[[noreturn]] void too_many(const std::string& host, std::size_t max_names) {
    throw ProtocolViolation{"host '" + host + "' told of more than " +
                            std::to_string(max_names) + " names"};
}
}  // namespace

std::vector<HostTable::Change> HostTable::names_of(ConnectionId upstream_id, const HostNames& all) {
    Upstream& u = upstream(upstream_id);
    if (!u.host.empty()) throw ProtocolViolation{"host '" + u.host + "' answered twice"};
    if (!is_valid_name(all.host) || all.host.find('@') != std::string::npos)
        throw ProtocolViolation{"a peer calls its host '" + all.host + "', which is no host name"};
    if (all.host == host_)
        throw ProtocolViolation{"the peer says it is host '" + all.host +
                                "', which is this host's own name (a peer listed twice, or "
                                "two hosts with one name)"};
    for (const auto& [id, other] : upstream_)
        if (id != upstream_id && other.host == all.host)
            throw ProtocolViolation{"host '" + all.host + "' is linked already (connection #" +
                                    std::to_string(id) + "): two peers with one name"};
    if (all.names.size() > max_names_) too_many(all.host, max_names_);
    for (const auto& entry : all.names) check_entry(entry);
    u.host = all.host;
    std::vector<Change> changes;
    for (const auto& entry : all.names) {
        u.names[entry.name] = entry;
        changes.push_back({remote(u, entry), true, {}});
    }
    return changes;
}

std::vector<HostTable::Change> HostTable::name_up(ConnectionId upstream_id, const HostName& entry) {
    Upstream& u = upstream(upstream_id);
    if (u.host.empty()) throw ProtocolViolation{"a host's name before its HostNames"};
    check_entry(entry);
    std::vector<Change> changes;
    if (auto it = u.names.find(entry.name); it != u.names.end()) {
        if (it->second.incarnation == entry.incarnation) return changes;
        changes.push_back({remote(u, it->second), false, down_unregistered});
    } else if (u.names.size() >= max_names_) {
        too_many(u.host, max_names_);
    }
    u.names[entry.name] = entry;
    changes.push_back({remote(u, entry), true, {}});
    return changes;
}

std::vector<HostTable::Change> HostTable::name_down(ConnectionId upstream_id,
                                                    const HostNameDown& down) {
    Upstream& u = upstream(upstream_id);
    std::vector<Change> changes;
    auto it = u.names.find(down.name);
    // A down for another registration than the one we hold tells nothing new.
    if (it == u.names.end() || it->second.incarnation != down.incarnation) return changes;
    Remote gone = remote(u, it->second);
    u.names.erase(it);
    changes.push_back({std::move(gone), false, down.reason});
    return changes;
}

void HostTable::heard(ConnectionId upstream_id, Clock::time_point now) {
    if (auto it = upstream_.find(upstream_id); it != upstream_.end()) it->second.heard = now;
}

std::vector<ConnectionId> HostTable::silent_since(Clock::time_point since) const {
    std::vector<ConnectionId> silent;
    for (const auto& [id, u] : upstream_)
        if (u.heard < since) silent.push_back(id);
    return silent;
}

std::vector<HostTable::Change> HostTable::forget(ConnectionId id, const std::string& reason) {
    subscribers_.erase(id);
    std::vector<Change> changes;
    auto it = upstream_.find(id);
    if (it == upstream_.end()) return changes;
    Upstream u = std::move(it->second);
    upstream_.erase(it);  // first: a name found from here on is another host's
    for (const auto& [name, entry] : u.names) changes.push_back({remote(u, entry), false, reason});
    return changes;
}

std::optional<HostTable::Remote> HostTable::find(const std::string& actor) const {
    const Upstream* best = nullptr;
    const HostName* found = nullptr;
    for (const auto& [id, u] : upstream_) {
        if (best && u.order >= best->order) continue;
        if (auto it = u.names.find(actor); it != u.names.end()) {
            best = &u;
            found = &it->second;
        }
    }
    if (!best) return std::nullopt;
    return remote(*best, *found);
}

std::optional<HostTable::Remote> HostTable::find(const std::string& actor,
                                                 const std::string& host) const {
    for (const auto& [id, u] : upstream_) {
        if (u.host != host) continue;
        if (auto it = u.names.find(actor); it != u.names.end()) return remote(u, it->second);
        return std::nullopt;
    }
    return std::nullopt;
}

bool HostTable::first_holder(const std::string& actor, std::size_t order) const {
    return std::none_of(upstream_.begin(), upstream_.end(), [&](const auto& each) {
        return each.second.order < order && each.second.names.contains(actor);
    });
}

std::string HostTable::host_of(ConnectionId id) const {
    auto it = upstream_.find(id);
    return it == upstream_.end() ? std::string() : it->second.host;
}

}  // namespace courier::registry
