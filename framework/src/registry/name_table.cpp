#include "registry/name_table.hpp"

#include "registry/placements.hpp"

#include "host_name.hpp"
#include "registry/refusals.hpp"

#include <courier/log.hpp>
#include <courier/process_info.hpp>
#include <courier/serialization/codec.hpp>

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <utility>

namespace courier::registry {

namespace {

/// Longest a Lookup may wait, whatever it asks: a day.
constexpr std::int64_t longest_wait_ms = 86'400'000;

/// This host's name when the config gives none: the kernel's.
std::string kernel_host_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
    return name;
}

template <class T>
T payload_as(const EnvelopeView& envelope) {
    auto value = decode_payload<T>(envelope.payload);
    if (!value)
        throw ProtocolViolation{std::string(type_name_of<T>()) + ": " + value.error().message};
    return std::move(*value);
}

}  // namespace

NameTable::NameTable(Outbox& out, detail::Reactor& timers, std::filesystem::path snapshot,
                     std::string host, std::chrono::milliseconds beat)
    : out_(out),
      timers_(timers),
      // Microseconds since the epoch: a restarted courierd numbers on from past the last
      // one's numbers (it cannot register a million names a second).
      next_incarnation_(
          static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count())),
      snapshot_(std::move(snapshot)),
      groups_([this](ConnectionId to, const GroupChange& change) { send(to, 0, 0, change); },
              [this](const GroupChange& change) {
                  for (auto id : hosts_.subscribers()) send(id, 0, 0, change);
                  if (cluster_) cluster_->group_change(change);
              }),
      inspections_(
          timers_,
          [this](ConnectionId to, std::uint64_t correlation, const Inspection& answer) {
              reply(to, correlation, answer);
          },
          [this](ConnectionId node, const Inspect& question) { send(node, 0, 0, question); }),
      hosts_(host.empty() ? kernel_host_name() : std::move(host)),
      beat_(beat) {
    if (snapshot_.empty()) return;
    if (auto saved = load_snapshot(snapshot_)) adopt(*saved);
    save();  // without the nodes that died meanwhile (no file at all when none is left)
}

NameTable::~NameTable() {
    for (const auto& [serial, waiting] : lookups_) timers_.cancel(waiting.timer);
    if (sweep_) timers_.cancel(*sweep_);
}

// ---- requests ---------------------------------------------------------------------------

void NameTable::handle(ConnectionId from, std::span<const std::byte> frame) {
    auto decoded = decode_envelope(frame);
    if (!decoded)
        throw ProtocolViolation{"bad frame (" + std::string(to_string(decoded.error().code)) +
                                "): " + decoded.error().message};
    const EnvelopeView& envelope = *decoded;
    const EnvelopeHeader& h = envelope.header;
    if (h.recipient != daemon_name)
        throw ProtocolViolation{"message addressed to '" + std::string(h.recipient) + "', not to " +
                                daemon_name};
    if (hosts_.is_upstream(from)) return host_notice(from, envelope);
    if ((h.flags & envelope_flags::request) == 0 || (h.flags & envelope_flags::reply) != 0 ||
        h.correlation == 0)
        throw ProtocolViolation{"message is not a request with a correlation id"};
    if (from_hosts_.contains(from) && h.type != type_id_of<SubscribeHost>() &&
        h.type != type_id_of<PlaceProgram>() && h.type != type_id_of<StopPlaced>())
        throw ProtocolViolation{
            "another host may only subscribe to this one's names, or place a program"};
    Client& c = clients_[from];
    if (!h.sender.empty()) c.reply_to = std::string(h.sender);
    const auto corr = h.correlation;

    if (h.type == type_id_of<RegisterNode>()) {
        reply(from, corr, register_node(from, c, payload_as<RegisterNode>(envelope)));
    } else if (h.type == type_id_of<RegisterName>()) {
        const auto r = payload_as<RegisterName>(envelope);
        if (cluster_)
            claim_name(from, c, corr, r);
        else
            reply(from, corr, register_name(from, c, r));
    } else if (h.type == type_id_of<UnregisterName>()) {
        reply(from, corr, unregister_name(from, c, payload_as<UnregisterName>(envelope)));
    } else if (h.type == type_id_of<Lookup>()) {
        lookup(from, c, corr, payload_as<Lookup>(envelope));
    } else if (h.type == type_id_of<Watch>()) {
        watch(from, c, corr, payload_as<Watch>(envelope));
    } else if (h.type == type_id_of<ListNodes>()) {
        payload_as<ListNodes>(envelope);
        reply(from, corr, list_nodes());
    } else if (h.type == type_id_of<JoinGroup>()) {
        const GroupTable::Joiner joiner{c.node, c.pid, c.names};
        reply(from, corr, groups_.join(from, joiner, payload_as<JoinGroup>(envelope)));
    } else if (h.type == type_id_of<LeaveGroup>()) {
        reply(from, corr, groups_.leave(from, payload_as<LeaveGroup>(envelope)));
    } else if (h.type == type_id_of<ListGroup>()) {
        reply(from, corr, groups_.list(payload_as<ListGroup>(envelope).group));
    } else if (h.type == type_id_of<WatchGroup>()) {
        reply(from, corr, groups_.watch(from, payload_as<WatchGroup>(envelope).group));
    } else if (h.type == type_id_of<UnwatchGroup>()) {
        reply(from, corr, groups_.unwatch(from, payload_as<UnwatchGroup>(envelope).group));
    } else if (h.type == type_id_of<ListGroups>()) {
        payload_as<ListGroups>(envelope);
        reply(from, corr, groups_.directory());
    } else if (h.type == type_id_of<InspectNode>()) {
        inspect(from, corr, payload_as<InspectNode>(envelope));
    } else if (h.type == type_id_of<Inspected>()) {
        reply(from, corr, inspections_.answered(from, payload_as<Inspected>(envelope)));
    } else if (h.type == type_id_of<SubscribeHost>()) {
        subscribe_host(from, corr, payload_as<SubscribeHost>(envelope));
    } else if (h.type == type_id_of<LookupHost>()) {
        reply(from, corr, host_address(payload_as<LookupHost>(envelope)));
    } else if (h.type == type_id_of<PlaceProgram>()) {
        reply(from, corr, place(payload_as<PlaceProgram>(envelope)));
    } else if (h.type == type_id_of<StopPlaced>()) {
        reply(from, corr, stop_placed(payload_as<StopPlaced>(envelope)));
    } else {
        throw ProtocolViolation{"unknown message type " + std::to_string(h.type)};
    }
}

Status NameTable::register_node(ConnectionId id, Client& c, const RegisterNode& r) {
    if (!c.node.empty()) return refuse("this connection already registered node '" + c.node + "'");
    if (!is_valid_name(r.node)) return refuse(invalid_name("node name", r.node));
    if (auto problem = detail::host_qualifier_problem(r.node); !problem.empty())
        return refuse("invalid node name " + problem);
    // A process says its pid; the kernel says whose the connection is.
    if (const auto real = out_.peer_pid(id); real != 0 && real != r.pid)
        return refuse("pid " + std::to_string(r.pid) + " is not this connection's (pid " +
                      std::to_string(real) + ")");
    const std::uint64_t start = process_start_time(r.pid).value_or(0);
    if (auto it = nodes_.find(r.node); it != nodes_.end()) {
        const ConnectionId held = it->second;
        Client& holder = clients_.at(held);
        const bool same_process = holder.pid == r.pid && holder.start_time == start;
        if (holder.detached && same_process) {
            // Back after a restart of courierd: its names were held for it.
            c.node = holder.node;
            c.pid = holder.pid;
            c.start_time = holder.start_time;
            c.endpoints = r.endpoints;
            c.names = std::move(holder.names);
            for (const auto& name : c.names) names_[name] = id;
            it->second = id;
            clients_.erase(held);
            log().info("node '{}' (pid {}) is back with {} names", c.node, c.pid, c.names.size());
            save();
            return {};
        }
        if (!drop_if_dead(held))
            return refuse("node name '" + r.node + "' is already registered by pid " +
                          std::to_string(holder.pid));
    }
    c.node = r.node;
    c.pid = r.pid;
    c.start_time = start;
    c.endpoints = r.endpoints;
    nodes_.emplace(c.node, id);
    log().info("node '{}' (pid {}) registered", c.node, c.pid);
    save();
    return {};
}

Status NameTable::register_name(ConnectionId id, Client& c, const RegisterName& r) {
    if (auto refusal = registration_check(id, c, r.name)) return *refusal;
    hold_name(id, c, r.name, next_incarnation_++);
    return {};
}

std::optional<Status> NameTable::registration_check(ConnectionId id, Client& c,
                                                    const std::string& name) {
    if (c.node.empty()) return refuse("register a node before registering the name '" + name + "'");
    if (!is_valid_name(name)) return refuse(invalid_name("name", name));
    if (auto problem = detail::host_qualifier_problem(name); !problem.empty())
        return refuse("invalid name " + problem);
    if (auto it = names_.find(name); it != names_.end()) {
        if (it->second == id) return Status{};
        // A holder keeps it while its process runs (pid and start time): connected, or
        // held for it after a restart of courierd.
        if (!drop_if_dead(it->second)) {
            const Client& owner = clients_.at(it->second);
            return refuse("name '" + name + "' is already registered by node '" + owner.node +
                          "' (pid " + std::to_string(owner.pid) + ")");
        }
    }
    return std::nullopt;
}

void NameTable::hold_name(ConnectionId id, Client& c, const std::string& name,
                          std::uint64_t incarnation) {
    names_.emplace(name, id);
    incarnations_[name] = incarnation;
    c.names.insert(name);
    save();
    log().debug("node '{}' registered name '{}'", c.node, name);
    const std::string qualified = name + "@" + hosts_.host();
    answer_lookups(name);
    answer_lookups(qualified);
    name_up(name);
    name_up(qualified);
    publish_up(name);
}

Status NameTable::unregister_name(ConnectionId id, Client& c, const UnregisterName& r) {
    auto it = names_.find(r.name);
    if (it == names_.end() || it->second != id)
        return refuse("name '" + r.name + "' is not registered by this node");
    const Location gone = location_of(r.name);
    names_.erase(it);
    incarnations_.erase(r.name);
    c.names.erase(r.name);
    log().debug("node '{}' unregistered name '{}'", c.node, r.name);
    name_down(gone, down_unregistered);
    publish_down(gone, down_unregistered);
    groups_.drop_member(r.name, down_unregistered);
    save();
    return {};
}

void NameTable::lookup(ConnectionId id, Client& c, std::uint64_t correlation, const Lookup& r) {
    Location where = location_of(r.name);
    if (where.found || r.wait_ms <= 0) {
        // Promised before the answer leaves: a registration after it is announced after it.
        if (!where.found && is_valid_name(r.name)) where.notify_up = await_up(id, c, r.name);
        reply(id, correlation, where);
        return;
    }
    // Held until the name is registered (answer_lookups) or the timer ends the wait.
    const std::uint64_t serial = next_lookup_++;
    const std::chrono::milliseconds wait(std::min(r.wait_ms, longest_wait_ms));
    auto timer = timers_.after(wait, [this, serial] { expire_lookup(serial); });
    lookups_.emplace(serial, WaitingLookup{id, correlation, r.name, timer});
}

void NameTable::watch(ConnectionId id, Client& c, std::uint64_t correlation, const Watch& r) {
    const Location where = location_of(r.name);
    reply(id, correlation, where);
    if (!where.found) {
        send(id, 0, 0, NameDown{r.name, down_not_registered, {}, 0, 0});
        return;
    }
    watchers_[r.name].insert(id);
    c.watching.insert(r.name);
}

void NameTable::inspect(ConnectionId id, std::uint64_t correlation, const InspectNode& r) {
    std::optional<ConnectionId> node;
    // A node held for after a restart of courierd has no connection to ask over yet.
    if (auto it = nodes_.find(r.node); it != nodes_.end() && !clients_.at(it->second).detached)
        node = it->second;
    inspections_.ask(id, correlation, r.node, node);
}

NodeList NameTable::list_nodes() const {
    NodeList list;
    for (const auto& [node, id] : nodes_) {
        const Client& c = clients_.at(id);
        NodeInfo info;
        info.node = node;
        info.pid = c.pid;
        info.endpoints = c.endpoints;
        info.names.assign(c.names.begin(), c.names.end());
        list.nodes.push_back(std::move(info));
    }
    return list;
}

// ---- what follows from a request or a closed connection ---------------------------------

Location NameTable::location_of(const std::string& name) const {
    Location where;
    where.name = name;
    const auto [actor_view, host_view] = detail::split_host(name);
    const std::string actor(actor_view), host(host_view);
    const bool here = host.empty() || host == hosts_.host();
    if (auto it = names_.find(actor); here && it != names_.end()) {
        const Client& owner = clients_.at(it->second);
        where.found = true;
        where.node = owner.node;
        where.pid = owner.pid;
        where.endpoints = owner.endpoints;
        where.incarnation = incarnations_.at(actor);
        return where;
    }
    if (!host.empty() && here) return where;
    if (auto remote = host.empty() ? hosts_.find(actor) : hosts_.find(actor, host)) {
        where.found = true;
        where.node = remote->entry.node + "@" + remote->host;
        where.pid = remote->entry.pid;
        where.endpoints = remote->entry.endpoints;
        where.incarnation = remote->entry.incarnation;
        where.host = remote->host;
    }
    return where;
}

void NameTable::answer_lookups(const std::string& name) {
    if (lookups_.empty()) return;
    const Location where = location_of(name);
    std::vector<WaitingLookup> ready;
    std::erase_if(lookups_, [&](auto& entry) {
        if (entry.second.name != name) return false;
        ready.push_back(std::move(entry.second));
        return true;
    });
    for (const auto& waiting : ready) {
        timers_.cancel(waiting.timer);
        send(waiting.connection, envelope_flags::reply, waiting.correlation, where);
    }
}

void NameTable::expire_lookup(std::uint64_t serial) {
    auto it = lookups_.find(serial);
    if (it == lookups_.end()) return;
    const WaitingLookup waiting = std::move(it->second);
    lookups_.erase(it);
    Location missing;
    missing.name = waiting.name;
    send(waiting.connection, envelope_flags::reply, waiting.correlation, missing);
}

void NameTable::name_down(const Location& gone, const std::string& reason) {
    // A name of this host is watched by its plain name and as name@host.
    if (gone.host.empty() && gone.name.find('@') == std::string::npos) {
        Location qualified = gone;
        qualified.name += "@" + hosts_.host();
        name_down(qualified, reason);
    }
    const std::string& name = gone.name;
    if (placements_ && name.find('@') != std::string::npos) placements_->name_gone(name, reason);
    auto w = watchers_.find(name);
    if (w == watchers_.end()) return;
    const std::set<ConnectionId> who = std::move(w->second);
    watchers_.erase(w);
    for (auto id : who) {
        auto it = clients_.find(id);
        if (it == clients_.end()) continue;
        it->second.watching.erase(name);
        send(id, 0, 0, NameDown{name, reason, gone.node, gone.pid, gone.incarnation});
    }
}

bool NameTable::await_up(ConnectionId id, Client& c, const std::string& name) {
    if (c.awaiting_up.count(name) != 0) return true;
    if (c.awaiting_up.size() >= max_awaiting_up) return false;
    c.awaiting_up.insert(name);
    awaiting_up_[name].insert(id);
    return true;
}

void NameTable::name_up(const std::string& name) {
    auto w = awaiting_up_.find(name);
    if (w == awaiting_up_.end()) return;
    const std::set<ConnectionId> who = std::move(w->second);
    awaiting_up_.erase(w);
    const Location where = location_of(name);
    for (auto id : who) {
        auto it = clients_.find(id);
        if (it == clients_.end()) continue;
        it->second.awaiting_up.erase(name);
        send(id, 0, 0, NameUp{name, where.node, where.pid, where.incarnation});
    }
}

void NameTable::forget(ConnectionId id, const std::string& reason) {
    std::erase_if(lookups_, [&](const auto& entry) {
        if (entry.second.connection != id) return false;
        timers_.cancel(entry.second.timer);
        return true;
    });
    inspections_.forget(id);
    from_hosts_.erase(id);
    if (hosts_.is_upstream(id)) {
        const std::string host = hosts_.host_of(id);
        if (id >= cluster_base && id < detached_base)  // told by etcd: no connection
            log().warn("host '{}' is gone: {}", host, reason);
        else
            log().warn("host '{}' (connection #{}) is gone: {}", host.empty() ? "?" : host, id,
                       reason);
        groups_.drop_host(id, down_host_lost);
        apply(hosts_.forget(id, down_host_lost));
    } else {
        hosts_.forget(id, reason);  // a subscriber: no names of its own here
    }
    auto it = clients_.find(id);
    if (it == clients_.end()) {
        log().debug("connection #{} closed: {}", id, reason);
        return;
    }
    auto unlist = [id](std::map<std::string, std::set<ConnectionId>>& lists,
                       const std::set<std::string>& names) {
        for (const auto& name : names) {
            auto w = lists.find(name);
            if (w == lists.end()) continue;
            w->second.erase(id);
            if (w->second.empty()) lists.erase(w);
        }
    };
    unlist(watchers_, it->second.watching);
    unlist(awaiting_up_, it->second.awaiting_up);
    groups_.forget(id);
    if (it->second.node.empty()) {
        log().debug("connection #{} closed: {}", id, reason);
    } else {
        log().info("node '{}' (pid {}) left: {}", it->second.node, it->second.pid, reason);
        drop_node(id, reason);
    }
    clients_.erase(id);
}

void NameTable::drop_node(ConnectionId id, const std::string& reason) {
    auto it = clients_.find(id);
    if (it == clients_.end() || it->second.node.empty()) return;
    // The node goes; a connection stays a client (forget() ends it when it closes).
    Client& c = it->second;
    const std::string node = std::exchange(c.node, {});
    const std::set<std::string> names = std::exchange(c.names, {});
    if (c.detached) log().info("node '{}' (pid {}) is gone: {}", node, c.pid, reason);
    if (auto held = nodes_.find(node); held != nodes_.end() && held->second == id)
        nodes_.erase(held);
    for (const auto& name : names) {
        Location gone;
        gone.name = name;
        gone.node = node;
        gone.pid = c.pid;
        gone.incarnation = incarnations_[name];
        names_.erase(name);
        incarnations_.erase(name);
        name_down(gone, down_node_exited);
        publish_down(gone, down_node_exited);
        groups_.drop_member(name, down_node_exited);
    }
    if (c.detached) clients_.erase(it);
    save();
}

bool NameTable::drop_if_dead(ConnectionId id) {
    auto it = clients_.find(id);
    if (it == clients_.end() || it->second.node.empty()) return false;
    // Also a connected one: a process that has ended may not have had its connection's
    // end read yet (a restarted child asks for its name first).
    if (process_alive(it->second.pid, it->second.start_time)) return false;
    drop_node(id, "its process ended");
    return true;
}

bool NameTable::has_connected_nodes() const noexcept {
    for (const auto& [node, id] : nodes_)
        if (id < detached_base) return true;
    return false;
}

std::optional<NameTable::NodeProcess> NameTable::node_process(ConnectionId id) const {
    auto it = clients_.find(id);
    if (it == clients_.end() || it->second.node.empty()) return std::nullopt;
    return NodeProcess{it->second.pid, it->second.endpoints};
}

std::string NameTable::describe(ConnectionId id) const {
    // Appended, not "#" + std::to_string(...): GCC 12 warns falsely (-Wrestrict) there.
    std::string text = "#";
    text += std::to_string(id);
    auto it = clients_.find(id);
    if (it == clients_.end() || it->second.node.empty()) return text;
    return text + " of node '" + it->second.node + "' (pid " + std::to_string(it->second.pid) + ")";
}

}  // namespace courier::registry
