#include "registry/etcd_view.hpp"

#include <courier/log.hpp>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace courier::registry {

namespace {

using nlohmann::json;

/// A name in a key: '/' separates the key's parts, so it and '%' are escaped.
std::string escape(const std::string& part) {
    std::string out;
    for (char c : part) {
        if (c == '%')
            out += "%25";
        else if (c == '/')
            out += "%2F";
        else
            out += c;
    }
    return out;
}

std::string unescape(const std::string& part) {
    std::string out;
    for (std::size_t i = 0; i < part.size(); ++i) {
        if (part[i] == '%' && part.compare(i, 3, "%25") == 0) {
            out += '%';
            i += 2;
        } else if (part[i] == '%' && part.compare(i, 3, "%2F") == 0) {
            out += '/';
            i += 2;
        } else {
            out += part[i];
        }
    }
    return out;
}

std::vector<std::string> split(const std::string& path) {
    std::vector<std::string> parts;
    std::size_t from = 0;
    for (std::size_t at; (at = path.find('/', from)) != std::string::npos; from = at + 1)
        parts.push_back(unescape(path.substr(from, at - from)));
    parts.push_back(unescape(path.substr(from)));
    return parts;
}

/// A value someone else wrote under the prefix may be anything: nullopt for one that is
/// not a JSON object.
std::optional<json> object_of(const std::string& value) {
    json parsed = json::parse(value, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
    return parsed;
}

}  // namespace

EtcdView::EtcdView(std::string prefix, std::string own_host, Listener& listener)
    : prefix_(std::move(prefix)), own_(std::move(own_host)), listener_(listener) {}

std::string EtcdView::host_key(const std::string& host) const {
    return prefix_ + "/hosts/" + escape(host);
}

std::string EtcdView::name_key(const std::string& name) const {
    return prefix_ + "/names/" + escape(name);
}

std::string EtcdView::member_key(const std::string& host, const std::string& group,
                                 const std::string& name) const {
    return prefix_ + "/members/" + escape(host) + "/" + escape(group) + "/" + escape(name);
}

std::string EtcdView::host_value(const std::string& host, const std::string& courierd) {
    json value{{"host", host}};
    if (!courierd.empty()) value["courierd"] = courierd;
    return value.dump();
}

std::string EtcdView::name_value(const std::string& host, const HostName& entry,
                                 const std::string& down) {
    json value{
        {"host", host},     {"name", entry.name},           {"node", entry.node},
        {"pid", entry.pid}, {"endpoints", entry.endpoints}, {"incarnation", entry.incarnation}};
    if (!down.empty()) value["down"] = down;
    return value.dump();
}

std::string EtcdView::member_value(const GroupMember& member, const std::string& left) {
    json value{{"node", member.node}, {"pid", member.pid}};
    if (!left.empty()) value["left"] = left;
    return value.dump();
}

std::optional<std::string> EtcdView::host_of_name(const std::string& value) {
    auto object = object_of(value);
    if (!object || !object->contains("host") || !(*object)["host"].is_string()) return std::nullopt;
    return (*object)["host"].get<std::string>();
}

void EtcdView::tell_up(const std::string& host, const Host& h) {
    HostNames all;
    all.host = host;
    for (const auto& [name, entry] : h.names) all.names.push_back(entry);
    std::vector<std::pair<std::int64_t, GroupChange>> joins;
    for (const auto& [key, m] : h.members)
        joins.push_back({m.joined_at, GroupChange{key.first, m.member, true, {}}});
    std::stable_sort(joins.begin(), joins.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& join : joins) all.groups.push_back(std::move(join.second));
    listener_.host_up(all, h.courierd);
}

void EtcdView::end_name(State& state, const std::string& host, const std::string& name,
                        const std::string& reason, bool tell) {
    Host& h = state.hosts[host];
    auto it = h.names.find(name);
    if (it == h.names.end()) return;
    const std::uint64_t incarnation = it->second.incarnation;
    h.names.erase(it);
    state.name_hosts.erase(name);
    if (tell && h.present) listener_.name_down(host, HostNameDown{name, reason, incarnation});
}

void EtcdView::apply(State& state, const EtcdClient::Event& event, bool tell) {
    const std::string& key = event.kv.key;
    if (!key.starts_with(prefix_ + "/")) return;
    const auto parts = split(key.substr(prefix_.size() + 1));
    auto ignore = [&](const char* why) { log().debug("etcd: ignoring key {}: {}", key, why); };
    if (parts.size() == 2 && parts[0] == "hosts") {
        const std::string& host = parts[1];
        if (host == own_) return;
        Host& h = state.hosts[host];
        if (h.present == event.put) return;
        h.present = event.put;
        if (event.put) {
            auto value = object_of(event.kv.value);
            h.courierd = value ? value->value("courierd", std::string{}) : std::string{};
        }
        if (!tell) return;
        if (event.put)
            tell_up(host, h);
        else
            listener_.host_gone(host);
    } else if (parts.size() == 2 && parts[0] == "names") {
        const std::string& name = parts[1];
        const auto held = state.name_hosts.find(name);
        const std::string before = held == state.name_hosts.end() ? std::string{} : held->second;
        if (!event.put) {
            if (!before.empty()) end_name(state, before, name, down_unregistered, tell);
            return;
        }
        auto value = object_of(event.kv.value);
        if (!value) return ignore("not a JSON object");
        HostName entry;
        std::string host, down;
        try {
            host = value->at("host").get<std::string>();
            entry.name = name;
            entry.node = value->at("node").get<std::string>();
            entry.pid = value->at("pid").get<std::int64_t>();
            entry.endpoints = value->at("endpoints").get<std::vector<std::string>>();
            entry.incarnation = value->at("incarnation").get<std::uint64_t>();
            down = value->value("down", std::string{});
        } catch (const json::exception& e) {
            return ignore(e.what());
        }
        if (!down.empty()) {
            if (before == host) end_name(state, host, name, down, tell);
            return;
        }
        // Another host's holder is gone once the key says this one holds it.
        if (!before.empty() && before != host)
            end_name(state, before, name, down_unregistered, tell);
        if (host == own_) return;
        Host& h = state.hosts[host];
        const bool fresh =
            !h.names.contains(name) || h.names[name].incarnation != entry.incarnation;
        h.names[name] = entry;
        state.name_hosts[name] = host;
        if (tell && h.present && fresh) listener_.name_up(host, entry);
    } else if (parts.size() == 4 && parts[0] == "members") {
        const std::string& host = parts[1];
        if (host == own_) return;
        Host& h = state.hosts[host];
        const std::pair<std::string, std::string> id{parts[2], parts[3]};
        auto it = h.members.find(id);
        auto leave = [&](const std::string& reason) {
            if (it == h.members.end()) return;
            const GroupMember member = it->second.member;
            h.members.erase(it);
            if (tell && h.present)
                listener_.group_change(host, GroupChange{id.first, member, false, reason});
        };
        if (!event.put) return leave(group_left);
        auto value = object_of(event.kv.value);
        if (!value) return ignore("not a JSON object");
        GroupMember member;
        std::string left;
        try {
            member.name = id.second;
            member.node = value->at("node").get<std::string>();
            member.pid = value->at("pid").get<std::int64_t>();
            left = value->value("left", std::string{});
        } catch (const json::exception& e) {
            return ignore(e.what());
        }
        if (!left.empty()) return leave(left);
        if (it != h.members.end()) {
            it->second.member = member;
            return;
        }
        h.members.emplace(id, Member{event.kv.create_revision, member});
        if (tell && h.present)
            listener_.group_change(host, GroupChange{id.first, member, true, {}});
    } else {
        ignore("not a key of courier's");
    }
}

void EtcdView::events(std::vector<EtcdClient::Event> events) {
    // One revision's changes are one: a host whose lease ended goes before the names it
    // took with it, which then go with the reason "host lost", not one by one.
    const std::string hosts = prefix_ + "/hosts/";
    auto rank = [&](const EtcdClient::Event& e) {
        return std::pair{e.kv.mod_revision, !(!e.put && e.kv.key.starts_with(hosts))};
    };
    std::stable_sort(events.begin(), events.end(),
                     [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
    for (const auto& event : events) apply(state_, event, true);
}

void EtcdView::snapshot(const std::vector<EtcdClient::KeyValue>& kvs) {
    State next;
    for (const auto& kv : kvs) apply(next, EtcdClient::Event{true, kv}, false);
    for (const auto& [host, h] : state_.hosts) {
        if (!h.present) continue;
        auto now = next.hosts.find(host);
        if (now == next.hosts.end() || !now->second.present) listener_.host_gone(host);
    }
    for (const auto& [host, h] : next.hosts) {
        if (!h.present) continue;
        auto was = state_.hosts.find(host);
        if (was == state_.hosts.end() || !was->second.present) {
            tell_up(host, h);
            continue;
        }
        // What changed while the watch was away; why a name or member went is not known.
        const Host& old = was->second;
        for (const auto& [name, entry] : old.names) {
            auto it = h.names.find(name);
            if (it == h.names.end() || it->second.incarnation != entry.incarnation)
                listener_.name_down(host, HostNameDown{name, down_unregistered, entry.incarnation});
        }
        for (const auto& [name, entry] : h.names) {
            auto it = old.names.find(name);
            if (it == old.names.end() || it->second.incarnation != entry.incarnation)
                listener_.name_up(host, entry);
        }
        for (const auto& [id, m] : old.members)
            if (!h.members.contains(id))
                listener_.group_change(host, GroupChange{id.first, m.member, false, group_left});
        for (const auto& [id, m] : h.members)
            if (!old.members.contains(id))
                listener_.group_change(host, GroupChange{id.first, m.member, true, {}});
    }
    state_ = std::move(next);
}

void EtcdView::lost() {
    for (auto& [host, h] : state_.hosts) {
        if (!h.present) continue;
        h.present = false;
        listener_.host_gone(host);
    }
}

}  // namespace courier::registry
