#pragma once
/// @file
/// Groups (Actor::join, docs/groups.md), seen from one node: the groups its actors
/// joined, the members of the groups it sends to or watches, and who of its actors
/// watches which group. The registry holds the truth for the host; a node keeps a copy of
/// each group it uses, watched (WatchGroup) so that GroupChanges keep it current, and
/// picks members from it without asking. A node without a registry has only its own
/// actors, and keeps their groups itself.

#include "registry/registry_protocol.hpp"

#include <courier/expected.hpp>
#include <courier/framework/error.hpp>
#include <courier/framework/group.hpp>

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier::detail {

class NodeCore;

class Groups {
  public:
    explicit Groups(NodeCore& node) noexcept : node_(node) {}

    /// The actor `actor` of this node joins `group`. Errors: unknown_name (an invalid
    /// group name), link_failed (the registry cannot be asked or refused).
    Expected<void, Error> join(const std::string& actor, std::string_view group);
    /// It leaves `group`; nothing when it was no member.
    Expected<void, Error> leave(const std::string& actor, std::string_view group);
    /// The actor stopped: its groups and watches end (the registry's part goes with its
    /// name: GroupChange "unregistered").
    void actor_stopped(const std::string& actor);

    /// The members of `group`, in the order they joined; empty for no such group.
    Expected<std::vector<GroupMember>, Error> members(std::string_view group);
    /// `watcher` gets a MemberJoined or MemberLeft for each change of `group` from now on;
    /// answers the members now, so that nothing falls between.
    Expected<std::vector<GroupMember>, Error> watch(const std::string& watcher,
                                                    std::string_view group);
    void unwatch(const std::string& watcher, std::string_view group);

    /// The names a message to `target` goes to: one member (round_robin, random), or all
    /// of them; empty when the group has none, or cannot be known (`why` says).
    std::vector<std::string> pick(const GroupTarget& target, std::string& why);

    /// The registry says a watched group changed (its reader thread).
    void on_change(const registry::GroupChange& change);
    /// The registry connection is back (courierd restarted and knows no groups): this
    /// node's actors join again, and each group it watched is watched again; what differs
    /// now is told to its watchers as MemberLeft (registry_restarted) and MemberJoined.
    void register_again();

  private:
    /// A group as this node knows it.
    struct Group {
        enum class State { unknown, resolving, live };
        State state = State::unknown;
        std::vector<GroupMember> members;  ///< in join order
        /// Changes that came while the registry's answer to our watch was on its way
        /// (another thread): applied after it, as courierd sent them after it.
        std::vector<registry::GroupChange> early;
        std::set<std::string> watchers;  ///< actors of this node
        std::size_t turn = 0;            ///< Pick::round_robin's next
    };
    struct Told {  ///< a change to tell the watchers, outside the lock
        std::vector<std::string> watchers;
        std::string group;
        GroupMember member;
        bool joined = false;
        LeaveReason reason = LeaveReason::left;
    };

    /// The group `name`, live: watched at the registry (and its members known) when the
    /// node has one. Waits while another thread resolves it. Lock held on entry and exit.
    Expected<Group*, Error> live(std::unique_lock<std::mutex>& lock, const std::string& name);
    /// Applies a join or leave to `g`; adds what to tell to `out` when it changed anything.
    void apply(Group& g, const std::string& name, const GroupMember& member, bool joined,
               LeaveReason reason, std::vector<Told>& out);
    void tell(std::vector<Told>& told);
    GroupMember self(const std::string& actor) const;

    NodeCore& node_;
    std::mutex mutex_;
    std::condition_variable resolved_;
    std::map<std::string, Group, std::less<>> groups_;
    /// What this node's actors joined, to join again after a restart of courierd.
    std::set<std::pair<std::string, std::string>> joined_;  ///< (actor, group)
};

}  // namespace courier::detail
