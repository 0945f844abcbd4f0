#pragma once
/// @file
/// The members a Pool (pool.hpp) sends to, what each has in flight and asked for, and the
/// choice of the next one by policy: the part of a pool that does not depend on its task
/// type (pool_members.cpp).

#include <courier/framework/group.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace courier {

/// How a Pool chooses the member for its next task.
enum class PoolPolicy : std::uint8_t {
    round_robin,      ///< each member in turn, skipping the ones at max_in_flight
    least_in_flight,  ///< the member with the fewest unanswered tasks (the first of equals)
    /// only a member that asked for work (a Demand message to the pool), as much as it
    /// asked for: the workers pull
    on_demand,
};

namespace detail {

class PoolMembers {
  public:
    struct Member {
        GroupMember who;
        std::size_t in_flight = 0;
        std::size_t demand = 0;     ///< tasks asked for and not sent yet (on_demand)
        std::uint64_t done = 0;     ///< answered
        std::uint64_t retried = 0;  ///< tasks that failed on it and went elsewhere
    };

    PoolMembers(PoolPolicy policy, std::size_t max_in_flight) noexcept
        : policy_(policy), max_in_flight_(max_in_flight == 0 ? 1 : max_in_flight) {}

    void joined(const GroupMember& member);
    /// It left: it gets nothing more (its tasks in flight come back by their requests).
    void left(const std::string& name);
    /// `name` asked for `count` more tasks (on_demand): true when it may get them now. From one
    /// that is no member yet (its Demand overtook the news of its join) it is kept until it joins;
    /// false when that is not kept either (too many such names).
    bool asked(const std::string& name, std::size_t count);

    /// The member the next task goes to, or nullopt when none may take one now. A task
    /// that failed on `avoid` goes to another member when one may take it.
    std::optional<GroupMember> choose(const std::string& avoid = {});
    /// A task went to `member` (chosen just now).
    void sent(const GroupMember& member);
    /// A task of `member` came back: answered (`ok`) or failed. Nothing when that member
    /// left meanwhile, even if a new process joined under its name (its pid differs): the
    /// new one has none of the old one's tasks.
    void returned(const GroupMember& member, bool ok);

    const std::vector<Member>& all() const noexcept { return members_; }

  private:
    Member* find(const std::string& name);
    Member* find(const GroupMember& member);
    bool may_take(const Member& m) const noexcept;
    std::optional<GroupMember> pick(const std::string& avoid);

    PoolPolicy policy_;
    std::size_t max_in_flight_;
    std::vector<Member> members_;  ///< in join order
    /// Demand from names not (yet) members, at most max_unclaimed of them.
    std::map<std::string, std::size_t> unclaimed_;
    static constexpr std::size_t max_unclaimed = 1024;
    std::size_t turn_ = 0;
};

}  // namespace detail
}  // namespace courier
