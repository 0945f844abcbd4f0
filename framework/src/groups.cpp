#include "groups.hpp"

#include "local_actors.hpp"
#include "node_core.hpp"

#include <courier/log.hpp>
#include <courier/process_info.hpp>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <random>

namespace courier::detail {

namespace {

Unexpected<Error> invalid_group(const std::string& group) {
    return Unexpected{Error{
        ErrorCode::unknown_name,
        "invalid group name '" + group + "': use 1 to 255 printable ASCII characters, no spaces"}};
}

Unexpected<Error> unreachable(const std::string& what, const std::string& why) {
    return Unexpected{Error{ErrorCode::link_failed, what + ": " + why}};
}

LeaveReason reason_of(const std::string& registry_reason) {
    if (registry_reason == registry::down_unregistered) return LeaveReason::stopped;
    if (registry_reason == registry::down_node_exited) return LeaveReason::node_exited;
    if (registry_reason == registry::down_host_lost) return LeaveReason::host_lost;
    return LeaveReason::left;
}

}  // namespace

}  // namespace courier::detail

namespace courier {

std::string_view to_string(LeaveReason reason) noexcept {
    switch (reason) {
        case LeaveReason::left:
            return "left";
        case LeaveReason::stopped:
            return "stopped";
        case LeaveReason::node_exited:
            return "node exited";
        case LeaveReason::registry_restarted:
            return "registry restarted";
        case LeaveReason::host_lost:
            return "host lost";
    }
    return "unknown";
}

}  // namespace courier

namespace courier::detail {

// ---- This node's actors as members -----------------------------------------------------

Expected<void, Error> Groups::join(const std::string& actor, std::string_view group_view) {
    std::string group(group_view);
    if (!is_valid_name(group)) return invalid_group(group);
    if (auto* registry = node_.registry()) {
        // Our own watch hears of the join before the answer comes (courierd sends the
        // GroupChange first, on the same stream): a send right after it may pick us.
        registry::Status status;
        try {
            status = registry->join_group(group, actor);
        } catch (const RegistryError& e) {
            return unreachable("'" + actor + "' cannot join group '" + group + "'", e.what());
        }
        if (!status.ok)
            return unreachable("'" + actor + "' cannot join group '" + group + "'", status.error);
        std::lock_guard lock(mutex_);
        joined_.emplace(actor, group);
        return {};
    }
    std::vector<Told> told;
    {
        std::lock_guard lock(mutex_);
        joined_.emplace(actor, group);
        Group& g = groups_[group];
        g.state = Group::State::live;  // ours to keep: there is no registry
        apply(g, group, self(actor), true, LeaveReason::left, told);
    }
    tell(told);
    return {};
}

Expected<void, Error> Groups::leave(const std::string& actor, std::string_view group_view) {
    std::string group(group_view);
    {
        std::lock_guard lock(mutex_);
        if (joined_.erase({actor, group}) == 0) return {};
    }
    if (auto* registry = node_.registry()) {
        try {
            auto status = registry->leave_group(group, actor);
            if (!status.ok) log().debug("node '{}': {}", node_.name(), status.error);
        } catch (const RegistryError& e) {
            return unreachable("'" + actor + "' cannot leave group '" + group + "'", e.what());
        }
        return {};
    }
    std::vector<Told> told;
    {
        std::lock_guard lock(mutex_);
        if (auto it = groups_.find(group); it != groups_.end())
            apply(it->second, group, self(actor), false, LeaveReason::left, told);
    }
    tell(told);
    return {};
}

void Groups::actor_stopped(const std::string& actor) {
    std::vector<Told> told;
    {
        std::lock_guard lock(mutex_);
        std::vector<std::string> left;
        for (auto it = joined_.begin(); it != joined_.end();) {
            if (it->first == actor) {
                left.push_back(it->second);
                it = joined_.erase(it);
            } else {
                ++it;
            }
        }
        for (auto& [name, g] : groups_) g.watchers.erase(actor);
        // With a registry, its GroupChanges say it once the name is unregistered.
        if (!node_.registry())
            for (const auto& group : left)
                apply(groups_[group], group, self(actor), false, LeaveReason::stopped, told);
    }
    tell(told);
}

GroupMember Groups::self(const std::string& actor) const {
    return GroupMember{actor, node_.name(), ::getpid()};
}

// ---- Knowing a group -------------------------------------------------------------------

Expected<Groups::Group*, Error> Groups::live(std::unique_lock<std::mutex>& lock,
                                             const std::string& name) {
    if (!is_valid_name(name)) return invalid_group(name);
    for (;;) {
        Group& g = groups_[name];
        if (g.state == Group::State::live) return &g;
        if (auto* registry = node_.registry(); registry && g.state == Group::State::unknown) {
            g.state = Group::State::resolving;
            lock.unlock();
            registry::GroupList list;
            std::string failed;
            try {
                list = registry->watch_group(name);
                if (!list.watching) failed = list.error;
            } catch (const RegistryError& e) {
                failed = e.what();
            }
            lock.lock();
            Group& now = groups_[name];  // the map may have grown meanwhile; nodes stay put
            if (!failed.empty()) {
                now.state = Group::State::unknown;
                now.early.clear();
                resolved_.notify_all();
                return unreachable("group '" + name + "' cannot be watched", failed);
            }
            now.members = std::move(list.members);
            std::vector<Told> nobody;  // no watcher yet: they wait for this
            for (const auto& change : std::exchange(now.early, {}))
                apply(now, name, change.member, change.joined, reason_of(change.reason), nobody);
            now.state = Group::State::live;
            resolved_.notify_all();
            return &now;
        }
        if (!node_.registry()) {
            g.state = Group::State::live;  // no registry: our own actors are all there is
            return &g;
        }
        resolved_.wait(lock);  // another thread asks the registry
    }
}

Expected<std::vector<GroupMember>, Error> Groups::members(std::string_view group) {
    std::unique_lock lock(mutex_);
    auto g = live(lock, std::string(group));
    if (!g) return Unexpected{g.error()};
    return (*g)->members;
}

Expected<std::vector<GroupMember>, Error> Groups::watch(const std::string& watcher,
                                                        std::string_view group) {
    std::unique_lock lock(mutex_);
    auto g = live(lock, std::string(group));
    if (!g) return Unexpected{g.error()};
    (*g)->watchers.insert(watcher);
    return (*g)->members;
}

void Groups::unwatch(const std::string& watcher, std::string_view group) {
    std::lock_guard lock(mutex_);
    if (auto it = groups_.find(group); it != groups_.end()) it->second.watchers.erase(watcher);
}

std::vector<std::string> Groups::pick(const GroupTarget& target, std::string& why) {
    std::unique_lock lock(mutex_);
    auto found = live(lock, target.name);
    if (!found) {
        why = found.error().message;
        return {};
    }
    Group& g = **found;
    if (g.members.empty()) {
        why = "group '" + target.name + "' has no members";
        return {};
    }
    switch (target.pick) {
        case Pick::all: {
            std::vector<std::string> names;
            for (const auto& m : g.members) names.push_back(m.name);
            return names;
        }
        case Pick::random: {
            thread_local std::minstd_rand random{std::random_device{}()};
            std::uniform_int_distribution<std::size_t> any(0, g.members.size() - 1);
            return {g.members[any(random)].name};
        }
        case Pick::round_robin:
            break;
    }
    return {g.members[g.turn++ % g.members.size()].name};
}

// ---- Changes ---------------------------------------------------------------------------

void Groups::apply(Group& g, const std::string& name, const GroupMember& member, bool joined,
                   LeaveReason reason, std::vector<Told>& out) {
    auto it = std::find_if(g.members.begin(), g.members.end(),
                           [&](const GroupMember& m) { return m.name == member.name; });
    if (joined == (it != g.members.end())) return;  // known already
    if (joined)
        g.members.push_back(member);
    else
        g.members.erase(it);
    if (g.watchers.empty()) return;
    out.push_back(Told{{g.watchers.begin(), g.watchers.end()}, name, member, joined, reason});
}

void Groups::tell(std::vector<Told>& told) {
    for (auto& t : told)
        for (const auto& watcher : t.watchers) {
            auto box = node_.actors().find(watcher);
            if (!box) continue;  // it stopped meanwhile
            if (t.joined)
                box->deliver(make_letter(MemberJoined{t.group, t.member}, std::string(), watcher));
            else
                box->deliver(
                    make_letter(MemberLeft{t.group, t.member, t.reason}, std::string(), watcher));
        }
}

void Groups::on_change(const registry::GroupChange& change) {
    std::vector<Told> told;
    {
        std::lock_guard lock(mutex_);
        auto it = groups_.find(change.group);
        if (it == groups_.end()) return;
        Group& g = it->second;
        if (g.state == Group::State::resolving)
            g.early.push_back(change);
        else if (g.state == Group::State::live)
            apply(g, change.group, change.member, change.joined, reason_of(change.reason), told);
    }
    tell(told);
}

void Groups::register_again() {
    auto* registry = node_.registry();
    if (!registry) return;
    std::set<std::pair<std::string, std::string>> joined;
    std::vector<std::string> watched;
    {
        std::lock_guard lock(mutex_);
        joined = joined_;
        for (const auto& [name, g] : groups_)
            if (g.state == Group::State::live) watched.push_back(name);
    }
    try {
        for (const auto& [actor, group] : joined) {
            auto status = registry->join_group(group, actor);
            if (!status.ok)
                log().error("node '{}': '{}' cannot join group '{}' again: {}", node_.name(), actor,
                            group, status.error);
        }
        for (const auto& name : watched) {
            {
                // Changes that come meanwhile are newer than the list: held until it is in.
                std::lock_guard lock(mutex_);
                groups_[name].state = Group::State::resolving;
            }
            registry::GroupList list;
            try {
                list = registry->watch_group(name);
            } catch (const RegistryError&) {
                std::lock_guard lock(mutex_);
                groups_[name].state = Group::State::live;  // as it was; retried next time
                resolved_.notify_all();
                throw;
            }
            std::vector<Told> told;
            {
                std::lock_guard lock(mutex_);
                Group& g = groups_[name];
                // Who is not there now left while courierd was away, or has not come back
                // yet (its node joins again, and a MemberJoined says so).
                std::vector<GroupMember> gone;
                for (const auto& m : g.members)
                    if (std::find(list.members.begin(), list.members.end(), m) ==
                        list.members.end())
                        gone.push_back(m);
                for (const auto& m : gone)
                    apply(g, name, m, false,
                          // pid 0: another host's member, of a process not ours to see
                          m.pid == 0 || process_alive(m.pid) ? LeaveReason::registry_restarted
                                                             : LeaveReason::node_exited,
                          told);
                for (const auto& m : list.members) apply(g, name, m, true, LeaveReason::left, told);
                for (const auto& change : std::exchange(g.early, {}))
                    apply(g, name, change.member, change.joined, reason_of(change.reason), told);
                g.state = Group::State::live;
                resolved_.notify_all();
            }
            tell(told);
        }
    } catch (const RegistryError& e) {
        // Broken again: the next reconnection calls us once more.
        log().warn("node '{}': joining groups again failed: {}", node_.name(), e.what());
    }
}

}  // namespace courier::detail
