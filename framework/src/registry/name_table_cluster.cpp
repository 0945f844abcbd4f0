// The NameTable's side of the etcd mode (docs/multihost.md): a name is registered once
// the cluster gave it to this host, and the other hosts the cluster tells of are kept in
// the HostTable as the peer hosts of the static mode are, under ids of their own.

#include "registry/name_table.hpp"
#include "registry/refusals.hpp"

#include <courier/log.hpp>

#include <spdlog/spdlog.h>

#include <functional>

namespace courier::registry {

namespace {
/// What another host's keys say is checked as its notices are in the static mode; one
/// that breaks the protocol is logged and left out.
void guarded(const std::string& host, const std::function<void()>& apply) {
    try {
        apply();
    } catch (const ProtocolViolation& e) {
        log().warn("etcd: host '{}': {}", host, e.reason);
    }
}
}  // namespace

void NameTable::join_cluster(Cluster* cluster) {
    cluster_ = cluster;
    if (!cluster_) return;
    for (const auto& [name, holder] : names_) cluster_->name_up(entry_of(name));
    for (const auto& joined : groups_.own_memberships()) cluster_->group_change(joined);
}

void NameTable::claim_name(ConnectionId id, Client& c, std::uint64_t correlation,
                           const RegisterName& r) {
    if (auto refusal = registration_check(id, c, r.name)) return reply(id, correlation, *refusal);
    if (claiming_.contains(r.name))
        return reply(id, correlation,
                     refuse("name '" + r.name + "' is being registered by another node"));
    claiming_.insert(r.name);
    const HostName entry{r.name, c.node, c.pid, c.endpoints, next_incarnation_++};
    cluster_->claim(entry, [this, id, correlation, entry](const std::string& refusal) {
        claiming_.erase(entry.name);
        auto it = clients_.find(id);
        if (it == clients_.end() || it->second.node.empty()) {
            // Its node went while the cluster answered: the name goes back.
            if (refusal.empty() && cluster_) cluster_->name_down(entry, down_node_exited);
            return;
        }
        if (!refusal.empty()) return reply(id, correlation, refuse(refusal));
        hold_name(id, it->second, entry.name, entry.incarnation);
        reply(id, correlation, Status{});
    });
}

std::optional<ConnectionId> NameTable::cluster_id(const std::string& host) const {
    auto it = cluster_hosts_.find(host);
    if (it == cluster_hosts_.end()) return std::nullopt;
    return it->second;
}

void NameTable::cluster_host_up(const HostNames& all, const std::string& courierd) {
    if (auto known = cluster_id(all.host)) forget(*known, "told again");
    const ConnectionId id = next_cluster_id_++;
    cluster_hosts_[all.host] = id;
    // The order only breaks ties between hosts that hold one plain name, which the
    // cluster's one key per name does not let happen.
    hosts_.dialed(id, cluster_hosts_.size(), std::chrono::steady_clock::now(), courierd);
    try {
        apply(hosts_.names_of(id, all));
        for (const auto& joined : all.groups) groups_.remote_change(id, all.host, joined);
    } catch (const ProtocolViolation& e) {
        log().warn("etcd: host '{}': {}; not taken in", all.host, e.reason);
        cluster_host_gone(all.host, e.reason);
        return;
    }
    log().info("host '{}' holds {} names and {} group memberships (told by etcd)", all.host,
               all.names.size(), all.groups.size());
}

void NameTable::cluster_host_gone(const std::string& host, const std::string& reason) {
    auto id = cluster_id(host);
    if (!id) return;
    cluster_hosts_.erase(host);
    forget(*id, reason);
}

void NameTable::cluster_name_up(const std::string& host, const HostName& entry) {
    if (auto id = cluster_id(host)) guarded(host, [&] { apply(hosts_.name_up(*id, entry)); });
}

void NameTable::cluster_name_down(const std::string& host, const HostNameDown& down) {
    if (auto id = cluster_id(host)) guarded(host, [&] { apply(hosts_.name_down(*id, down)); });
}

void NameTable::cluster_group_change(const std::string& host, const GroupChange& change) {
    if (auto id = cluster_id(host))
        guarded(host, [&] { groups_.remote_change(*id, host, change); });
}

}  // namespace courier::registry
