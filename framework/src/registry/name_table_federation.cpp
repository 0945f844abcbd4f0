// The NameTable's side of the federation (docs/multihost.md): what it tells the hosts
// that subscribed to this host's names, and what follows from the names other hosts
// tell it (host_protocol.hpp). The names themselves are the HostTable's. And placement
// (placement_protocol.hpp): where another host's courierd listens, and the programs this
// one starts for others (the Placements').

#include "registry/name_table.hpp"

#include "registry/placements.hpp"
#include "registry/refusals.hpp"

#include <courier/framework/error.hpp>
#include <courier/log.hpp>
#include <courier/serialization/codec.hpp>

#include <spdlog/spdlog.h>

namespace courier::registry {

namespace {
template <class T>
T notice_as(const EnvelopeView& envelope, const std::string& host) {
    auto value = decode_payload<T>(envelope.payload);
    if (!value)
        throw ProtocolViolation{"host '" + host + "': " + std::string(type_name_of<T>()) + ": " +
                                value.error().message};
    return std::move(*value);
}
}  // namespace

void NameTable::dialed(ConnectionId id, std::size_t order, std::string address) {
    hosts_.dialed(id, order, std::chrono::steady_clock::now(), std::move(address));
    EnvelopeHeader header;
    header.flags = envelope_flags::request;
    header.correlation = 1;  // the one request on this connection
    header.sender = daemon_name;
    header.recipient = daemon_name;
    out_.send(id, encode_message(header, SubscribeHost{hosts_.host()}));
}

void NameTable::subscribe_host(ConnectionId id, std::uint64_t correlation, const SubscribeHost& r) {
    if (!from_hosts_.contains(id))
        throw ProtocolViolation{"SubscribeHost from a local connection (it is for other hosts)"};
    if (hosts_.subscribed(id)) throw ProtocolViolation{"SubscribeHost twice"};
    HostNames all;
    all.host = hosts_.host();
    all.beat_ms = beat_.count();
    for (const auto& [name, holder] : names_) all.names.push_back(entry_of(name));
    all.groups = groups_.own_memberships();
    hosts_.subscribe(id);
    log().info(
        "host '{}' (connection #{}) subscribed to the {} names and {} group memberships "
        "of this host",
        r.host, id, all.names.size(), all.groups.size());
    reply(id, correlation, all);
}

void NameTable::host_notice(ConnectionId from, const EnvelopeView& envelope) {
    hosts_.heard(from, std::chrono::steady_clock::now());
    const EnvelopeHeader& h = envelope.header;
    const std::string host = hosts_.host_of(from);
    if (h.type == type_id_of<HostNames>()) {
        auto all = notice_as<HostNames>(envelope, host);
        apply(hosts_.names_of(from, all));
        for (auto& joined : all.groups) {
            if (!joined.joined)
                throw ProtocolViolation{"host '" + all.host + "': a leave in HostNames"};
            groups_.remote_change(from, all.host, std::move(joined));
        }
        log().info(
            "host '{}' (connection #{}) holds {} names and {} group memberships; it beats "
            "every {} ms",
            all.host, from, all.names.size(), all.groups.size(), all.beat_ms);
    } else if (h.type == type_id_of<HostNameUp>()) {
        apply(hosts_.name_up(from, notice_as<HostNameUp>(envelope, host).name));
    } else if (h.type == type_id_of<HostNameDown>()) {
        apply(hosts_.name_down(from, notice_as<HostNameDown>(envelope, host)));
    } else if (h.type == type_id_of<GroupChange>()) {
        if (host.empty()) throw ProtocolViolation{"a group change before HostNames"};
        groups_.remote_change(from, host, notice_as<GroupChange>(envelope, host));
    } else if (h.type == type_id_of<HostBeat>()) {
        notice_as<HostBeat>(envelope, host);
    } else {
        throw ProtocolViolation{"host '" + host + "' sent message type " + std::to_string(h.type) +
                                ", which is no host notice"};
    }
}

void NameTable::apply(const std::vector<HostTable::Change>& changes) {
    for (const auto& change : changes) {
        const HostTable::Remote& r = change.remote;
        const std::string qualified = r.entry.name + "@" + r.host;
        const bool held_here = names_.contains(r.entry.name);
        if (change.up) {
            answer_lookups(qualified);
            name_up(qualified);
            if (!held_here) {
                answer_lookups(r.entry.name);
                name_up(r.entry.name);
            }
            continue;
        }
        Location gone;
        gone.found = true;
        gone.name = qualified;
        gone.node = r.entry.node + "@" + r.host;
        gone.pid = r.entry.pid;
        gone.endpoints = r.entry.endpoints;
        gone.incarnation = r.entry.incarnation;
        gone.host = r.host;
        name_down(gone, change.reason);
        // Watchers of the plain name watched this one if it was what the name resolved to.
        if (!held_here && hosts_.first_holder(r.entry.name, r.order)) {
            gone.name = r.entry.name;
            name_down(gone, change.reason);
        }
    }
}

HostName NameTable::entry_of(const std::string& name) const {
    const Client& owner = clients_.at(names_.at(name));
    return HostName{name, owner.node, owner.pid, owner.endpoints, incarnations_.at(name)};
}

void NameTable::publish_up(const std::string& name) {
    if (hosts_.subscribers().empty()) return;
    const HostNameUp up{entry_of(name)};
    for (auto id : hosts_.subscribers()) send(id, 0, 0, up);
}

void NameTable::publish_down(const Location& gone, const std::string& reason) {
    const HostNameDown down{gone.name, reason, gone.incarnation};
    for (auto id : hosts_.subscribers()) send(id, 0, 0, down);
    if (cluster_)
        cluster_->name_down(
            HostName{gone.name, gone.node, gone.pid, gone.endpoints, gone.incarnation}, reason);
}

void NameTable::beat() {
    for (auto id : hosts_.subscribers()) send(id, 0, 0, HostBeat{});
}

// ---- placement (placement_protocol.hpp) ----

HostAddress NameTable::host_address(const LookupHost& r) const {
    const std::string& own = hosts_.host();
    if (r.host == own) {
        if (listen_.empty())
            return HostAddress{
                false, "this host's courierd listens for no host (registry.listen)", {}, own};
        return HostAddress{true, {}, listen_, own};
    }
    const auto address = hosts_.address_of(r.host);
    if (!address) return HostAddress{false, "host '" + r.host + "' is not up", {}, own};
    if (address->empty())
        return HostAddress{false, "where host '" + r.host + "' listens is not known", {}, own};
    return HostAddress{true, {}, *address, own};
}

Placed NameTable::place(const PlaceProgram& r) {
    // Bound to a name that is gone already, it would never hear of its end.
    if (placements_ && !r.bound_to.empty() && !location_of(r.bound_to).found)
        return Placed{false, static_cast<std::uint8_t>(ErrorCode::refused),
                      "host '" + hosts_.host() + "' does not know '" + r.bound_to +
                          "', which the program would be bound to",
                      0};
    if (placements_) return placements_->place(r);
    return Placed{false, static_cast<std::uint8_t>(ErrorCode::refused),
                  "host '" + hosts_.host() + "' places no programs", 0};
}

Status NameTable::stop_placed(const StopPlaced& r) {
    if (placements_) return placements_->stop(r);
    return refuse("host '" + hosts_.host() + "' places no programs");
}

}  // namespace courier::registry
