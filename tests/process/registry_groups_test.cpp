// Actor groups in the per-host registry (registry/group_table.hpp), with real processes:
// courierd started on demand, a member's node in a forked child killed with SIGKILL, and
// the `courier` CLI run as a program. Every test has its own runtime directory and ends by
// waiting for courierd to exit on idle, leaving the directory empty.

#include "process_support.hpp"
#include "registry/group_table.hpp"
#include "registry/protocol_violation.hpp"
#include "registry/registry_client.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace courier;
using namespace courier::test;
using registry::GroupChange;
using registry::GroupMember;

/// Collects a client's GroupChanges from its reader thread.
using Changes = Mailbag<GroupChange>;

void collect(RegistryClient& client, Changes& changes) {
    client.on_group_change([&changes](const GroupChange& change) { changes.put(change); });
}

/// The names of the members, in the order listed.
std::vector<std::string> names_of(const std::vector<GroupMember>& members) {
    std::vector<std::string> names;
    for (const auto& member : members) names.push_back(member.name);
    return names;
}

using Names = std::vector<std::string>;

CommandResult courier_groups(const TempRuntimeDir& dir) {
    return run_command(
        {(bin_dir() / "courier").string(), "groups", "--runtime-dir", dir.path().string()});
}

}  // namespace

TEST_CASE("a member joins a group, is listed in join order with its node, and leaves",
          "[registry][groups]") {
    TempRuntimeDir dir;
    {
        RegistryClient node(dir.options());
        REQUIRE(node.register_node("node-a", {}).ok);
        for (const char* name : {"first", "second", "third"}) REQUIRE(node.register_name(name).ok);
        CHECK(node.list_group("workers").members.empty());  // no such group: no members

        REQUIRE(node.join_group("workers", "second").ok);
        REQUIRE(node.join_group("workers", "first").ok);
        REQUIRE(node.join_group("workers", "second").ok);  // twice: no error, no second entry
        REQUIRE(node.join_group("others", "third").ok);

        const auto workers = node.list_group("workers");
        CHECK(workers.group == "workers");
        CHECK_FALSE(workers.watching);
        CHECK(workers.error.empty());
        REQUIRE(workers.members.size() == 2);
        CHECK(workers.members[0] == GroupMember{"second", "node-a", ::getpid()});
        CHECK(workers.members[1] == GroupMember{"first", "node-a", ::getpid()});

        REQUIRE(node.leave_group("workers", "second").ok);
        const auto again = node.leave_group("workers", "second");
        CHECK_FALSE(again.ok);
        CHECK(again.error == "'second' is not a member of group 'workers'");
        CHECK(names_of(node.list_group("workers").members) == Names{"first"});

        // The last member gone, the group is gone.
        REQUIRE(node.leave_group("workers", "first").ok);
        const auto directory = node.list_groups();
        REQUIRE(directory.groups.size() == 1);
        CHECK(directory.groups[0].group == "others");
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("joining with a name this connection's node did not register is refused clearly",
          "[registry][groups]") {
    TempRuntimeDir dir;
    {
        RegistryClient other(dir.options());
        REQUIRE(other.register_node("other-node", {}).ok);
        REQUIRE(other.register_name("theirs").ok);

        RegistryClient anonymous(dir.options());
        const auto no_node = anonymous.join_group("g", "theirs");
        CHECK_FALSE(no_node.ok);
        CHECK(no_node.error ==
              "cannot join group 'g': the name 'theirs' is not registered by this connection's "
              "node");

        RegistryClient mine(dir.options());
        REQUIRE(mine.register_node("my-node", {}).ok);
        REQUIRE(mine.register_name("ours").ok);
        const auto not_ours = mine.join_group("g", "theirs");
        CHECK_FALSE(not_ours.ok);
        CHECK(not_ours.error == no_node.error);
        CHECK_FALSE(mine.join_group("g", "never-registered").ok);

        const auto bad_group = mine.join_group("bad group", "ours");
        CHECK_FALSE(bad_group.ok);
        CHECK(bad_group.error ==
              "invalid group name 'bad group': use 1 to 255 printable ASCII characters, no "
              "spaces");
        CHECK(mine.list_group("bad group").error == bad_group.error);

        // Nor may a node take another's member out.
        REQUIRE(other.join_group("g", "theirs").ok);
        const auto not_its = mine.leave_group("g", "theirs");
        CHECK_FALSE(not_its.ok);
        CHECK(not_its.error ==
              "cannot take 'theirs' out of group 'g': the name is not registered by this "
              "connection's node");
        CHECK(names_of(mine.list_group("g").members) == Names{"theirs"});
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("a watcher gets the members, then each join and leave in order, before the answer",
          "[registry][groups][watch]") {
    TempRuntimeDir dir;
    {
        RegistryClient node(dir.options());
        REQUIRE(node.register_node("node-a", {}).ok);
        for (const char* name : {"a", "b", "c"}) REQUIRE(node.register_name(name).ok);
        REQUIRE(node.join_group("g", "a").ok);

        RegistryClient watcher(dir.options());
        Changes seen;
        collect(watcher, seen);
        const auto listed = watcher.watch_group("g");
        CHECK(listed.watching);
        CHECK(listed.error.empty());
        CHECK(names_of(listed.members) == Names{"a"});
        CHECK(watcher.watch_group("g").watching);  // twice: still one watch

        // The node watches too: its GroupChange comes before its own join's answer.
        Changes own;
        collect(node, own);
        REQUIRE(node.watch_group("g").watching);
        REQUIRE(node.join_group("g", "b").ok);
        auto told = own.take(0ms);
        REQUIRE(told);
        CHECK(told->member == GroupMember{"b", "node-a", ::getpid()});
        CHECK(told->joined);
        REQUIRE(node.join_group("g", "b").ok);  // a member already: nobody is told
        REQUIRE(node.leave_group("g", "a").ok);
        told = own.take(0ms);
        REQUIRE(told);
        CHECK_FALSE(told->joined);
        CHECK(told->reason == "left");

        auto first = seen.take(5s);
        REQUIRE(first);
        CHECK(first->group == "g");
        CHECK(first->member.name == "b");
        CHECK(first->joined);
        CHECK(first->reason.empty());
        auto second = seen.take(5s);
        REQUIRE(second);
        CHECK(second->member == GroupMember{"a", "node-a", ::getpid()});
        CHECK_FALSE(second->joined);
        CHECK(second->reason == "left");
        // courierd answers the watcher's next request after what it sent before: by then
        // every notice has been handed over, so none came twice.
        watcher.list_groups();
        CHECK_FALSE(seen.take(0ms));

        // The group ends with its last member; its watchers still hear of the next join.
        REQUIRE(node.leave_group("g", "b").ok);
        CHECK(node.list_groups().groups.empty());
        REQUIRE(node.join_group("g", "c").ok);
        watcher.list_groups();
        auto left = seen.take(0ms);
        REQUIRE(left);
        CHECK(left->member.name == "b");
        auto back = seen.take(0ms);
        REQUIRE(back);
        CHECK(back->member.name == "c");
        CHECK(back->joined);

        // Unwatched: nothing more.
        REQUIRE(watcher.unwatch_group("g").ok);
        REQUIRE(watcher.unwatch_group("never-watched").ok);
        REQUIRE(node.leave_group("g", "c").ok);
        watcher.list_groups();
        CHECK_FALSE(seen.take(0ms));
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("a member whose name is unregistered leaves all its groups and watchers are told",
          "[registry][groups][watch]") {
    TempRuntimeDir dir;
    {
        RegistryClient node(dir.options());
        REQUIRE(node.register_node("node-a", {}).ok);
        REQUIRE(node.register_name("worker").ok);
        REQUIRE(node.register_name("stays").ok);
        REQUIRE(node.join_group("g1", "worker").ok);
        REQUIRE(node.join_group("g2", "worker").ok);
        REQUIRE(node.join_group("g2", "stays").ok);

        RegistryClient watcher(dir.options());
        Changes seen;
        collect(watcher, seen);
        REQUIRE(watcher.watch_group("g1").watching);
        REQUIRE(watcher.watch_group("g2").watching);

        REQUIRE(node.unregister_name("worker").ok);
        for (const char* group : {"g1", "g2"}) {  // in the order of the groups' names
            auto change = seen.take(5s);
            REQUIRE(change);
            CHECK(change->group == group);
            CHECK(change->member == GroupMember{"worker", "node-a", ::getpid()});
            CHECK_FALSE(change->joined);
            CHECK(change->reason == "unregistered");
        }
        CHECK(names_of(watcher.list_group("g2").members) == Names{"stays"});
        const auto directory = watcher.list_groups();
        REQUIRE(directory.groups.size() == 1);
        CHECK(directory.groups[0].group == "g2");

        // Registered again, the name is in no group until it joins again.
        REQUIRE(node.register_name("worker").ok);
        CHECK(watcher.list_group("g1").members.empty());
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("a member whose node is killed with SIGKILL leaves its groups at once",
          "[registry][groups][liveness]") {
    TempRuntimeDir dir;
    auto options = dir.options();
    // Forked before this process has threads (the clients' readers).
    auto victim = Child::fork([=](ChildChannel& channel) {
        RegistryClient client(options);
        if (!client.register_node("victim", {}).ok) return 3;
        if (!client.register_name("victim-actor").ok) return 4;
        if (!client.join_group("g1", "victim-actor").ok) return 5;
        if (!client.join_group("g2", "victim-actor").ok) return 6;
        channel.send('r');
        while (char c = channel.receive())
            if (c == 'q') break;
        return 0;
    });
    REQUIRE(victim.expect('r'));
    {
        RegistryClient watcher(options);
        // A node of its own keeps courierd up after the victim's is gone.
        REQUIRE(watcher.register_node("witness", {}).ok);
        Changes seen;
        collect(watcher, seen);
        const auto listed = watcher.watch_group("g1");
        REQUIRE(listed.members.size() == 1);
        CHECK(listed.members[0] == GroupMember{"victim-actor", "victim", victim.pid()});
        REQUIRE(watcher.watch_group("g2").watching);

        victim.kill(SIGKILL);
        const auto status = victim.wait_exit();
        REQUIRE(status);
        CHECK(WIFSIGNALED(*status));

        // courierd reads the end of the victim's connection as the kernel closes it.
        for (const char* group : {"g1", "g2"}) {
            auto change = seen.take(5s);
            REQUIRE(change);
            CHECK(change->group == group);
            CHECK(change->member == GroupMember{"victim-actor", "victim", victim.pid()});
            CHECK_FALSE(change->joined);
            CHECK(change->reason == "node exited");
        }
        CHECK(watcher.list_groups().groups.empty());
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("a connection watches a bounded number of groups", "[registry][groups][watch]") {
    TempRuntimeDir dir;
    {
        RegistryClient watcher(dir.options());
        REQUIRE(watcher.register_node("watcher", {}).ok);  // keeps courierd up meanwhile
        constexpr std::size_t most = registry::GroupTable::max_watched_groups;
        STATIC_REQUIRE(most == 4096);
        for (std::size_t i = 0; i < most; ++i)
            REQUIRE(watcher.watch_group("group-" + std::to_string(i)).watching);

        // Full: the group is listed, not watched, and the answer says why.
        const auto over = watcher.watch_group("one-too-many");
        CHECK(over.group == "one-too-many");
        CHECK_FALSE(over.watching);
        CHECK(over.error ==
              "this connection watches 4096 groups already, the most courierd keeps for one");
        CHECK(watcher.watch_group("group-7").watching);  // watched already

        // An invalid name is never watched.
        const auto invalid = watcher.watch_group("");
        CHECK_FALSE(invalid.watching);
        CHECK(invalid.error.find("invalid group name") == 0);

        // Ending one watch makes room for another.
        REQUIRE(watcher.unwatch_group("group-7").ok);
        CHECK(watcher.watch_group("one-too-many").watching);
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("the group directory lists every group by name with its members in join order",
          "[registry][groups]") {
    TempRuntimeDir dir;
    {
        RegistryClient a(dir.options());
        REQUIRE(a.register_node("node-a", {}).ok);
        REQUIRE(a.register_name("a1").ok);
        REQUIRE(a.register_name("a2").ok);
        RegistryClient b(dir.options());
        REQUIRE(b.register_node("node-b", {}).ok);
        REQUIRE(b.register_name("b1").ok);

        CHECK(a.list_groups().groups.empty());
        REQUIRE(a.join_group("zeta", "a1").ok);
        REQUIRE(b.join_group("alpha", "b1").ok);
        REQUIRE(a.join_group("alpha", "a2").ok);
        REQUIRE(a.join_group("alpha", "a1").ok);

        const auto directory = b.list_groups();
        REQUIRE(directory.groups.size() == 2);
        CHECK(directory.groups[0].group == "alpha");
        CHECK(names_of(directory.groups[0].members) == Names{"b1", "a2", "a1"});
        CHECK(directory.groups[0].members[0].node == "node-b");
        CHECK(directory.groups[1].group == "zeta");
        CHECK(names_of(directory.groups[1].members) == Names{"a1"});
        for (const auto& group : directory.groups) CHECK_FALSE(group.watching);
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("the names of one connection's node hold a bounded number of memberships",
          "[registry][groups][bounds]") {
    // GroupTable itself, without courierd: 65,536 joins over a socket would take seconds.
    std::vector<std::pair<registry::ConnectionId, GroupChange>> told;
    registry::GroupTable table(
        [&told](registry::ConnectionId to, const GroupChange& change) {
            told.emplace_back(to, change);
        },
        [](const GroupChange&) {});
    constexpr registry::ConnectionId node = 1, watcher = 2;
    const std::string node_name = "node-a";
    const std::set<std::string> names{"w1", "w2"};
    const registry::GroupTable::Joiner joiner{node_name, 42, names};
    REQUIRE(table.watch(watcher, "group-0").watching);

    constexpr std::size_t most = registry::GroupTable::max_memberships;
    STATIC_REQUIRE(most == 65536);
    for (std::size_t i = 0; i < most / 2; ++i) {
        REQUIRE(table.join(node, joiner, {"group-" + std::to_string(i), "w1"}).ok);
        REQUIRE(table.join(node, joiner, {"group-" + std::to_string(i), "w2"}).ok);
    }
    const auto over = table.join(node, joiner, {"one-too-many", "w1"});
    CHECK_FALSE(over.ok);
    CHECK(over.error ==
          "cannot join group 'one-too-many': this node's names are in 65536 groups already, "
          "the most courierd keeps for one connection");
    CHECK(table.join(node, joiner, {"group-7", "w1"}).ok);  // a member already

    // Leaving makes room; a name that goes frees all of its memberships.
    REQUIRE(table.leave(node, {"group-7", "w1"}).ok);
    CHECK(table.join(node, joiner, {"one-too-many", "w1"}).ok);
    CHECK_FALSE(table.join(node, joiner, {"one-more", "w1"}).ok);
    table.drop_member("w2", registry::down_node_exited);
    CHECK(table.join(node, joiner, {"one-more", "w1"}).ok);

    // Only the watcher of group-0 was told: both joins, then w2's leaving.
    REQUIRE(told.size() == 3);
    for (const auto& [to, change] : told) CHECK(to == watcher);
    CHECK(told[2].second.member.name == "w2");
    CHECK(told[2].second.reason == "node exited");

    // A watcher that closes is told nothing more.
    table.forget(watcher);
    table.drop_member("w1", registry::down_unregistered);
    CHECK(told.size() == 3);
    CHECK(table.directory().groups.empty());
}

TEST_CASE(
    "the members of other hosts join as member@host with no pid and leave as their host "
    "says or with it while only this host's own changes are published",
    "[registry][groups][federation]") {
    std::vector<GroupChange> told, published;
    registry::GroupTable table(
        [&told](registry::ConnectionId, const GroupChange& change) { told.push_back(change); },
        [&published](const GroupChange& change) { published.push_back(change); });
    constexpr registry::ConnectionId node = 1, watcher = 2, beta = 3, gamma = 4;
    const std::string node_name = "node-a";
    const std::set<std::string> names{"w1"};
    REQUIRE(table.watch(watcher, "workers").watching);
    REQUIRE(table.join(node, {node_name, 42, names}, {"workers", "w1"}).ok);
    const GroupMember far{"w1", "far", 77};
    table.remote_change(beta, "beta", {"workers", far, true, ""});
    table.remote_change(beta, "beta", {"workers", far, true, ""});  // told twice: once here
    table.remote_change(gamma, "gamma", {"workers", far, true, ""});
    table.remote_change(beta, "beta", {"others", {"w2", "far", 77}, true, ""});

    auto listed = table.list("workers").members;
    REQUIRE(listed.size() == 3);
    CHECK(listed[0] == GroupMember{"w1", "node-a", 42});
    CHECK(listed[1] == GroupMember{"w1@beta", "far@beta", 0});
    CHECK(listed[2] == GroupMember{"w1@gamma", "far@gamma", 0});
    // What goes to the other hosts: this host's own, as it holds them.
    REQUIRE(published.size() == 1);
    CHECK(published[0].member == GroupMember{"w1", "node-a", 42});
    const auto own = table.own_memberships();
    REQUIRE(own.size() == 1);
    CHECK(own[0].group == "workers");
    CHECK(own[0].joined);

    table.remote_change(beta, "beta", {"workers", far, false, registry::down_unregistered});
    table.drop_host(gamma, registry::down_host_lost);
    listed = table.list("workers").members;
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].name == "w1");
    CHECK(table.list("others").members.size() == 1);  // beta's other membership stays
    REQUIRE(told.size() == 5);                        // 3 joins, 2 leaves; no "others"
    CHECK(told[3].member.name == "w1@beta");
    CHECK(told[3].reason == registry::down_unregistered);
    CHECK(told[4].member.name == "w1@gamma");
    CHECK(told[4].reason == registry::down_host_lost);
    CHECK(published.size() == 1);

    // A host tells only of its own members, unqualified and valid.
    CHECK_THROWS_AS(
        table.remote_change(beta, "beta", {"workers", {"w1@gamma", "far", 1}, true, ""}),
        registry::ProtocolViolation);
    CHECK_THROWS_AS(table.remote_change(beta, "beta", {"bad group", far, true, ""}),
                    registry::ProtocolViolation);
    CHECK_THROWS_AS(table.remote_change(beta, "beta", {"workers", {"w9", "", 1}, true, ""}),
                    registry::ProtocolViolation);
    // ...and of a bounded number of memberships.
    constexpr std::size_t most = registry::GroupTable::max_memberships;
    for (std::size_t i = 1; i < most; ++i)  // "others" holds one already
        table.remote_change(beta, "beta", {"group-" + std::to_string(i), far, true, ""});
    CHECK_THROWS_AS(table.remote_change(beta, "beta", {"one-too-many", far, true, ""}),
                    registry::ProtocolViolation);
}

TEST_CASE("courier groups shows each group with its members and their nodes",
          "[registry][groups][cli]") {
    TempRuntimeDir dir;
    {
        RegistryClient node(dir.options());
        REQUIRE(node.register_node("node-a", {}).ok);
        auto empty = courier_groups(dir);
        CHECK(empty.exit_code == 0);
        CHECK(empty.out == "no groups in " + dir.path().string() + "\n");

        REQUIRE(node.register_name("w1").ok);
        REQUIRE(node.register_name("w2").ok);
        REQUIRE(node.join_group("workers", "w2").ok);
        REQUIRE(node.join_group("workers", "w1").ok);
        REQUIRE(node.join_group("solo", "w1").ok);
        const std::string pid = std::to_string(::getpid());
        auto listed = courier_groups(dir);
        CHECK(listed.exit_code == 0);
        CHECK(listed.out ==
              "GROUP    COUNT  MEMBERS\n"
              "solo     1      w1@node-a " +
                  pid +
                  "\n"
                  "workers  2      w2@node-a " +
                  pid + ", w1@node-a " + pid + "\n");
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("courier groups without a registry says so, exits 0 and starts none",
          "[registry][groups][cli]") {
    TempRuntimeDir dir;
    auto result = courier_groups(dir);
    CHECK(result.exit_code == 0);
    CHECK(result.out == "no courier registry is running in " + dir.path().string() + "\n");
    CHECK(courierd_pids(dir.path()).empty());
    CHECK(dir.is_empty());
}
