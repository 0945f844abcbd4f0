#include <courier/framework/detail/pool_members.hpp>

#include <algorithm>

namespace courier::detail {

PoolMembers::Member* PoolMembers::find(const std::string& name) {
    auto it = std::find_if(members_.begin(), members_.end(),
                           [&](const Member& m) { return m.who.name == name; });
    return it == members_.end() ? nullptr : &*it;
}

PoolMembers::Member* PoolMembers::find(const GroupMember& member) {
    Member* m = find(member.name);
    return m && m->who.pid == member.pid ? m : nullptr;
}

bool PoolMembers::may_take(const Member& m) const noexcept {
    if (m.in_flight >= max_in_flight_) return false;
    return policy_ != PoolPolicy::on_demand || m.demand > 0;
}

void PoolMembers::joined(const GroupMember& member) {
    if (find(member.name)) return;
    Member m{member};
    if (auto early = unclaimed_.find(member.name); early != unclaimed_.end()) {
        m.demand = early->second;
        unclaimed_.erase(early);
    }
    members_.push_back(std::move(m));
}

void PoolMembers::left(const std::string& name) {
    std::erase_if(members_, [&](const Member& m) { return m.who.name == name; });
    unclaimed_.erase(name);
}

bool PoolMembers::asked(const std::string& name, std::size_t count) {
    if (Member* m = find(name)) {
        m->demand += count;
        return true;
    }
    auto early = unclaimed_.find(name);
    if (early == unclaimed_.end()) {
        if (unclaimed_.size() >= max_unclaimed) return false;
        early = unclaimed_.emplace(name, 0).first;
    }
    early->second += count;
    return false;  // nothing to send it yet
}

std::optional<GroupMember> PoolMembers::choose(const std::string& avoid) {
    if (!avoid.empty())
        if (auto other = pick(avoid)) return other;
    return pick({});
}

std::optional<GroupMember> PoolMembers::pick(const std::string& avoid) {
    if (members_.empty()) return std::nullopt;
    if (policy_ == PoolPolicy::least_in_flight) {
        const Member* best = nullptr;
        for (const auto& m : members_)
            if (may_take(m) && m.who.name != avoid && (!best || m.in_flight < best->in_flight))
                best = &m;
        if (best) return best->who;
        return std::nullopt;
    }
    // round_robin and on_demand: the next in turn that may take one.
    for (std::size_t tried = 0; tried < members_.size(); ++tried) {
        const Member& m = members_[turn_++ % members_.size()];
        if (may_take(m) && m.who.name != avoid) return m.who;
    }
    return std::nullopt;
}

void PoolMembers::sent(const GroupMember& member) {
    if (Member* m = find(member)) {
        ++m->in_flight;
        if (m->demand > 0) --m->demand;
    }
}

void PoolMembers::returned(const GroupMember& member, bool ok) {
    Member* m = find(member);
    if (!m) return;  // it left meanwhile
    if (m->in_flight > 0) --m->in_flight;
    ++(ok ? m->done : m->retried);
}

}  // namespace courier::detail
