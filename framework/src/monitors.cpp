#include "monitors.hpp"

#include "local_actors.hpp"
#include "node_core.hpp"

#include <courier/process_info.hpp>

#include <spdlog/spdlog.h>
#include <unistd.h>

namespace courier::detail {

namespace {

/// True when process `pid` of this host has ended: gone, or a zombie not reaped yet.
/// (The pids monitors hold come from this host's registry, or are this process's.)
bool process_ended(std::int64_t pid) {
    return pid > 0 && !process_alive(pid);
}

DownReason reason_of(const std::string& registry_reason) {
    if (registry_reason == registry::down_unregistered) return DownReason::stopped;
    if (registry_reason == registry::down_node_exited) return DownReason::node_exited;
    return DownReason::unreachable;  // down_host_lost: its host's registry is gone or silent
}

}  // namespace

template <class Pred>
void Monitors::take(Ended& out, Pred ends) {
    for (auto it = watches_.begin(); it != watches_.end();) {
        if (ends(it->second)) {
            out.emplace_back(it->first, std::move(it->second));
            it = watches_.erase(it);
        } else {
            ++it;
        }
    }
}

void Monitors::tell(Ended& ended, DownReason reason, const std::string& detail) {
    for (auto& [id, watch] : ended) {
        auto box = node_.actors().find(watch.watcher);
        if (!box) continue;  // it stopped meanwhile
        box->deliver(make_letter(
            Down{watch.name, reason, watch.node, watch.pid, watch.incarnation, id, detail},
            std::string(), watch.watcher));
    }
}

std::uint64_t Monitors::start(const std::string& watcher, std::string_view name_view) {
    std::string name(name_view);
    auto* registry = node_.registry();
    std::uint64_t id = 0;
    {
        std::lock_guard lock(mutex_);
        id = ++next_id_;
        Watch& watch = watches_[id];
        watch.watcher = watcher;
        watch.name = name;
        watch.resolving = registry != nullptr;
    }
    // Looked at after the monitor is in: a stop from now on finds it (local_stopped).
    const bool local = is_valid_name(name) && name.front() != '$' && node_.actors().find(name);
    std::string unreachable;  // why no Down can come any other way, if so
    registry::Location where;
    if (registry) {
        try {
            where = registry->watch(name);
        } catch (const RegistryError& e) {
            unreachable = std::string("the registry cannot be asked: ") + e.what();
        }
    }
    Ended ended;
    DownReason reason = DownReason::unreachable;
    {
        std::lock_guard lock(mutex_);
        auto it = watches_.find(id);
        if (it == watches_.end()) return id;  // ended already: a local stop, demonitor()
        Watch& watch = it->second;
        watch.resolving = false;
        watch.local = local;
        // Stopped since we looked: its local_stopped found this monitor not yet local.
        if (local && !node_.actors().find(name)) {
            reason = DownReason::stopped;
            unreachable = "actor '" + name + "' stopped";
        }
        if (where.found) {
            watch.node = where.node;
            // Another host's pid says nothing of a process here: judged by the link only.
            watch.pid = where.host.empty() ? where.pid : 0;
            watch.incarnation = where.incarnation;
        } else if (local) {
            watch.node = node_.name();
            watch.pid = ::getpid();
        } else if (!registry) {
            watch.node = node_.peers().node_of(name);
        }
        if (auto early = early_downs_.find(name); early != early_downs_.end()) {
            // Its registration ended while the registry's answer was on its way.
            if (where.found && early->second.incarnation == where.incarnation) {
                reason = reason_of(early->second.reason);
                unreachable = "'" + name + "' went down as the monitor began";
            }
            bool resolving = false;
            for (const auto& [other, w] : watches_) resolving |= w.resolving && w.name == name;
            if (!resolving) early_downs_.erase(early);
        }
        if (unreachable.empty() && !where.found && !local && watch.node.empty())
            unreachable = "no actor named '" + name + "' is " +
                          (registry ? "registered" : "known to node '" + node_.name() + "'");
        if (!unreachable.empty()) {
            ended.emplace_back(id, std::move(watch));
            watches_.erase(it);
        }
    }
    tell(ended, reason, unreachable);
    return id;
}

void Monitors::cancel(std::uint64_t id) noexcept {
    std::lock_guard lock(mutex_);
    watches_.erase(id);
}

void Monitors::watcher_stopped(const std::string& watcher) noexcept {
    std::lock_guard lock(mutex_);
    std::erase_if(watches_, [&](const auto& entry) { return entry.second.watcher == watcher; });
}

void Monitors::local_stopped(const std::string& name, const std::string& why) {
    Ended ended;
    {
        std::lock_guard lock(mutex_);
        take(ended, [&](const Watch& w) { return w.local && w.name == name; });
    }
    tell(ended, DownReason::stopped, why);
}

void Monitors::on_name_down(const registry::NameDown& down) {
    node_.peers().forget(down.name);  // it may come back elsewhere
    // A name that was not registered has been told by start() already.
    if (down.incarnation == 0) return;
    Ended ended;
    {
        std::lock_guard lock(mutex_);
        bool resolving = false;
        take(ended, [&](const Watch& w) {
            if (w.name != down.name) return false;
            resolving |= w.resolving;
            return !w.resolving && w.incarnation == down.incarnation;
        });
        if (resolving) early_downs_.insert_or_assign(down.name, down);
    }
    std::string detail = "actor '" + down.name + "' of node '" + down.node + "' stopped";
    if (down.reason == registry::down_node_exited)
        detail = "node '" + down.node + "' (pid " + std::to_string(down.pid) + ") exited";
    else if (down.reason == registry::down_host_lost)
        detail = "the host of node '" + down.node +
                 "' is unreachable: its registry went away or stayed silent";
    tell(ended, reason_of(down.reason), detail);
}

void Monitors::link_lost(const PeerLink& peer, const std::string& reason) {
    if (peer.node().empty()) return;  // it never said who it is: nobody monitors through it
    Ended ended;
    {
        std::lock_guard lock(mutex_);
        take(ended,
             [&](const Watch& w) { return !w.local && !w.resolving && w.node == peer.node(); });
    }
    judge(std::move(ended), peer.node(), reason, verdict_tries, first_verdict_wait);
}

void Monitors::judge(Ended ended, const std::string& node, const std::string& reason, int tries,
                     std::chrono::milliseconds wait) {
    // What happened to their node, the watched pid tells when it is known. A process's
    // descriptors close before it is a zombie: a link may end while its process is still
    // exiting, so a live pid is looked at again a few times before "link broken".
    Ended exited, broken, unsure;
    for (auto& entry : ended) {
        const auto pid = entry.second.pid;
        auto& group = process_ended(pid) ? exited : (pid > 0 && tries > 1 ? unsure : broken);
        group.push_back(std::move(entry));
    }
    tell(exited, DownReason::node_exited, "node '" + node + "' exited (" + reason + ")");
    tell(broken, DownReason::link_broken, "the link to node '" + node + "' broke: " + reason);
    if (unsure.empty()) return;
    node_.reactor().after(wait, [this, unsure, node, reason, tries, wait]() mutable {
        judge(std::move(unsure), node, reason, tries - 1, wait * 2);
    });
}

void Monitors::watch_again() {
    auto* registry = node_.registry();
    if (!registry) return;
    std::vector<std::pair<std::uint64_t, std::string>> watched;  // id, name
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, w] : watches_)
            if (!w.local && !w.resolving && w.incarnation != 0) watched.emplace_back(id, w.name);
    }
    for (const auto& [id, name] : watched) {
        registry::Location now;
        try {
            now = registry->watch(name);
        } catch (const RegistryError&) {
            return;  // broken again: the next reconnection watches again
        }
        Ended ended;
        {
            std::lock_guard lock(mutex_);
            auto it = watches_.find(id);
            if (it == watches_.end()) continue;
            if (now.found && now.incarnation == it->second.incarnation) continue;  // same life
            ended.emplace_back(id, std::move(it->second));
            watches_.erase(it);
        }
        const auto& gone = ended.front().second;
        const bool exited = process_ended(gone.pid);
        tell(ended, exited ? DownReason::node_exited : DownReason::stopped,
             "'" + name + "' of node '" + gone.node + "' went while the registry was away");
    }
}

// ---- Names coming up -------------------------------------------------------------------

std::vector<std::string> Monitors::take_awaiting(const std::string& name) {
    std::vector<std::string> watchers;
    auto [first, last] = awaiting_up_.equal_range(name);
    for (auto it = first; it != last; ++it) watchers.push_back(std::move(it->second));
    awaiting_up_.erase(first, last);
    return watchers;
}

void Monitors::tell_up(const std::vector<std::string>& watchers, const Up& up) {
    for (const auto& watcher : watchers)
        if (auto box = node_.actors().find(watcher))
            box->deliver(make_letter(Up(up), std::string(), watcher));
}

void Monitors::await_up(const std::string& watcher, std::string_view name_view) {
    std::string name(name_view);
    {
        // In before asking: an Up that overtakes the answer (another thread) finds it.
        std::lock_guard lock(mutex_);
        awaiting_up_.emplace(name, watcher);
    }
    auto* registry = node_.registry();
    Up up{name, {}, 0, 0};
    std::string refused;
    bool there = false;
    if (registry) {
        try {
            // Not found: courierd sends a NameUp when it is registered (on_name_up).
            auto where = registry->lookup(name);
            there = where.found;
            up = Up{name, where.node, where.pid, where.incarnation};
            if (!there && !where.notify_up)
                refused = "courierd keeps no more NameUp notices for node '" + node_.name() + "'";
        } catch (const RegistryError& e) {
            refused = std::string("the registry cannot be asked: ") + e.what();
        }
    } else if (is_valid_name(name) && node_.actors().find(name)) {
        there = true;
        up = Up{name, node_.name(), ::getpid(), 0};
    }
    if (!there && refused.empty()) return;
    std::vector<std::string> watchers;
    {
        std::lock_guard lock(mutex_);
        auto [first, last] = awaiting_up_.equal_range(name);
        for (auto it = first; it != last; ++it)
            if (it->second == watcher) {  // still ours to answer: no NameUp took it
                awaiting_up_.erase(it);
                watchers.push_back(watcher);
                break;
            }
    }
    if (!refused.empty()) {
        // It cannot be awaited: said at once, as a Down, rather than never.
        Ended ended;
        for (auto& w : watchers) ended.emplace_back(0, Watch{w, name, {}, 0, 0, false, false});
        tell(ended, DownReason::unreachable, refused);
        return;
    }
    tell_up(watchers, up);
}

void Monitors::on_name_up(const registry::NameUp& up) {
    std::vector<std::string> watchers;
    {
        std::lock_guard lock(mutex_);
        watchers = take_awaiting(up.name);
    }
    tell_up(watchers, Up{up.name, up.node, up.pid, up.incarnation});
}

void Monitors::local_started(const std::string& name) {
    if (node_.registry()) return;  // its NameUp says it, with the registration's number
    std::vector<std::string> watchers;
    {
        std::lock_guard lock(mutex_);
        watchers = take_awaiting(name);
    }
    tell_up(watchers, Up{name, node_.name(), ::getpid(), 0});
}

}  // namespace courier::detail
