// What carries the NameTable over a restart of courierd (docs/registry.md, "When courierd
// dies"): the file it writes after each change, and the names of the nodes still running
// that the next courierd holds for them until they connect again.

#include "registry/name_table.hpp"

#include <courier/log.hpp>
#include <courier/process_info.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace courier::registry {

void NameTable::adopt(const Snapshot& saved) {
    next_incarnation_ = std::max(next_incarnation_, saved.next_incarnation);
    for (const auto& node : saved.nodes) {
        if (!process_alive(node.pid, node.start_time)) {
            log().info("node '{}' (pid {}) ended while no courierd ran", node.node, node.pid);
            continue;
        }
        const ConnectionId id = next_detached_++;
        Client& c = clients_[id];
        c.node = node.node;
        c.pid = node.pid;
        c.start_time = node.start_time;
        c.endpoints = node.endpoints;
        c.detached = true;
        nodes_[c.node] = id;
        for (const auto& [name, incarnation] : node.names) {
            c.names.insert(name);
            names_[name] = id;
            incarnations_[name] = incarnation;
        }
        log().info("holding {} names of node '{}' (pid {}) until it connects again", c.names.size(),
                   c.node, c.pid);
    }
    sweep_later();
}

void NameTable::sweep_later() {
    if (sweep_) return;
    bool any = false;
    for (const auto& [id, c] : clients_) any |= c.detached;
    if (!any) return;
    sweep_ = timers_.after(std::chrono::milliseconds{500}, [this] {
        sweep_.reset();
        std::vector<ConnectionId> detached;
        for (const auto& [id, c] : clients_)
            if (c.detached) detached.push_back(id);
        for (auto id : detached) drop_if_dead(id);
        sweep_later();
    });
}

void NameTable::save() const {
    if (snapshot_.empty()) return;
    Snapshot snapshot;
    snapshot.next_incarnation = next_incarnation_;
    for (const auto& [id, c] : clients_) {
        if (c.node.empty()) continue;
        SavedNode node{c.node, c.pid, c.start_time, c.endpoints, {}};
        for (const auto& name : c.names) node.names.emplace_back(name, incarnations_.at(name));
        snapshot.nodes.push_back(std::move(node));
    }
    save_snapshot(snapshot_, snapshot);
}

}  // namespace courier::registry
