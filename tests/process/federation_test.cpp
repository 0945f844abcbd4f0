// The federation of registries (docs/multihost.md), with two "hosts" on loopback: each a
// courierd of its own runtime directory, named by its config, listening for the other on
// a tcp port and dialing it. Nodes of one host reach the actors of the other by
// name@host and by their plain name; a host whose courierd stops answering (SIGSTOP) is
// taken as gone within registry.host_down_ms, its names' watchers and monitors told, and
// its names resolve again when it answers. A group spans both hosts.

#include "federation_support.hpp"
#include "node_support.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <stdexcept>
#include <string>
#include <vector>

using namespace courier;
using namespace courier::test;

TEST_CASE(
    "a name of another host resolves by name@host and by its plain name and the answer "
    "comes back while a name@host of no such host or actor is a clear error and its end "
    "reaches watchers of both names",
    "[process][federation]") {
    LoopbackPair hosts;
    Host& a = hosts.a;
    Host& b = hosts.b;
    {
        auto remote = spawn_node(b.node("far"), "echo", echo);
        REQUIRE(remote.expect('r'));
        {
            // Known to alpha once beta told it: a waiting lookup there sees it come.
            RegistryClient alpha(a.dir.options());
            const auto where = alpha.lookup("echo@beta", 10s);
            REQUIRE(where.found);
            CHECK(where.host == "beta");
            CHECK(where.node == "far@beta");
            CHECK(where.pid == remote.pid());
            CHECK(alpha.lookup("echo").host == "beta");  // no echo on alpha: beta's
            CHECK_FALSE(alpha.lookup("echo@alpha").found);
            CHECK_FALSE(alpha.lookup("echo@gamma").found);
        }
        Node near(a.node("near"));
        near.spawn("local", echo);
        auto pong = near.request<wire::Pong>("echo@beta", wire::Ping{1}, 10s);
        REQUIRE(pong);
        CHECK(pong->n == 2);
        pong = near.request<wire::Pong>("echo", wire::Ping{10}, 10s);
        REQUIRE(pong);
        CHECK(pong->n == 11);
        // This host's own name qualifies its own actors too.
        pong = near.request<wire::Pong>("local@alpha", wire::Ping{20}, 10s);
        REQUIRE(pong);
        CHECK(pong->n == 21);

        auto nobody = near.request<wire::Pong>("echo@gamma", wire::Ping{1}, 2s);
        REQUIRE_FALSE(nobody);
        CHECK(nobody.error().code == ErrorCode::unknown_name);
        CHECK_THAT(nobody.error().message, Catch::Contains("echo@gamma"));
        CHECK_THROWS_WITH(near.spawn("bad@name", echo), Catch::Contains("'@'"));

        // Its node stopping is told across: the watchers of both names hear it from beta
        // (a clean stop unregisters the name, as on one host).
        RegistryClient alpha(a.dir.options());
        NameDownBox downs;
        alpha.on_name_down(downs.handler());
        REQUIRE(alpha.watch("echo@beta").found);
        REQUIRE(alpha.watch("echo").found);
        remote.send('q');
        CHECK(remote.wait_exit());
        for (const char* name : {"echo@beta", "echo"}) {
            auto down = downs.wait_for(name, 10s);
            REQUIRE(down);
            CHECK(down->reason == registry::down_unregistered);
            CHECK(down->node == "far@beta");
        }
        CHECK_FALSE(alpha.lookup("echo").found);
    }
    CHECK(hosts.finish());
}

TEST_CASE(
    "a host whose courierd goes silent is gone within host_down_ms (watchers get NameDown "
    "'host lost' and monitors a Down) and when it answers again its names resolve again",
    "[process][federation]") {
    LoopbackPair hosts;
    Host& a = hosts.a;
    Host& b = hosts.b;
    {
        auto remote = spawn_node(b.node("far"), "echo", echo);
        REQUIRE(remote.expect('r'));
        RegistryClient alpha(a.dir.options());
        NameDownBox downs;
        alpha.on_name_down(downs.handler());
        REQUIRE(alpha.lookup("echo@beta", 10s).found);
        REQUIRE(alpha.watch("echo@beta").found);

        Node near(a.node("near"));
        Mailbag<Down> monitored;
        near.spawn("watcher", [&](Actor& self) {
            self.handle<Down>([&](Down& down) { monitored.put(down); });
            self.monitor("echo@beta");
        });
        // The monitor is in place once a request through the same name is answered.
        REQUIRE(near.request<wire::Pong>("echo@beta", wire::Ping{1}, 10s));

        const auto stopped = std::chrono::steady_clock::now();
        b.courierd->kill(SIGSTOP);
        auto down = downs.wait_for("echo@beta", 10s);
        const auto took = std::chrono::steady_clock::now() - stopped;
        REQUIRE(down);
        CHECK(down->reason == registry::down_host_lost);
        CHECK(down->node == "far@beta");
        // host_down_ms is 600 and beats come every 100 ms: told well within seconds.
        CHECK(took < 5s);
        auto told = monitored.take(10s);
        REQUIRE(told);
        CHECK(told->name == "echo@beta");
        CHECK(told->reason == DownReason::unreachable);
        CHECK_THAT(told->detail, Catch::Contains("unreachable"));
        CHECK_FALSE(alpha.lookup("echo@beta").found);

        b.courierd->kill(SIGCONT);
        const auto back = alpha.lookup("echo@beta", 10s);
        REQUIRE(back.found);
        CHECK(back.pid == remote.pid());
        auto pong = near.request<wire::Pong>("echo@beta", wire::Ping{5}, 10s);
        REQUIRE(pong);
        CHECK(pong->n == 6);
        remote.send('q');
        CHECK(remote.wait_exit());
    }
    CHECK(hosts.finish());
}

TEST_CASE("a courierd with another cookie is refused: neither host learns the other's names",
          "[process][federation][security]") {
    // beta's courierd has a cookie of its own.
    const auto other = std::filesystem::temp_directory_path() /
                       ("courier-other-cookie-" + std::to_string(::getpid()));
    std::ofstream(other) << std::string(40, 'e') << '\n';
    REQUIRE(::chmod(other.c_str(), 0600) == 0);
    LoopbackPair hosts({"COURIER_COOKIE=" + other.string()});
    Host& a = hosts.a;
    Host& b = hosts.b;
    {
        auto remote = spawn_node(b.node("far"), "echo", echo);
        REQUIRE(remote.expect('r'));
        RegistryClient alpha(a.dir.options());
        // Each has tried the other several times over by now (every 500 ms).
        CHECK_FALSE(alpha.lookup("echo@beta", 1500ms).found);
        remote.send('q');
        CHECK(remote.wait_exit());
    }
    CHECK(hosts.finish());
    std::filesystem::remove(other);
}

namespace {
/// Joins `group`, then answers Pings as echo does.
std::function<void(Actor&)> member_of(std::string group) {
    return [group](Actor& self) {
        if (auto joined = self.join(group); !joined)
            throw std::runtime_error(joined.error().message);
        echo(self);
    };
}
/// The members of `group` as alpha's courierd lists them, by name.
std::vector<std::string> member_names(RegistryClient& registry, const std::string& group) {
    std::vector<std::string> names;
    for (const auto& m : registry.list_group(group).members) names.push_back(m.name);
    return names;
}
}  // namespace

TEST_CASE(
    "a group spans the federation: alpha lists and watches beta's members as member@beta "
    "and reaches them and they leave when beta says so or when beta is lost",
    "[process][federation][groups]") {
    LoopbackPair hosts;
    Host& a = hosts.a;
    Host& b = hosts.b;
    {
        // A member beta had before alpha heard of it comes in beta's first answer.
        auto first = spawn_node(b.node("far"), "worker-b", member_of("workers"));
        REQUIRE(first.expect('r'));
        RegistryClient alpha(a.dir.options());
        REQUIRE(alpha.lookup("worker-b@beta", 10s).found);
        REQUIRE(eventually([&] { return !alpha.list_group("workers").members.empty(); }));
        const auto listed = alpha.list_group("workers");
        REQUIRE(listed.members.size() == 1);
        CHECK(listed.members[0].name == "worker-b@beta");
        CHECK(listed.members[0].node == "far@beta");
        CHECK(listed.members[0].pid == 0);  // another host's pid means nothing here

        Node near(a.node("near"));
        Mailbag<MemberJoined> joins;
        Mailbag<MemberLeft> leaves;
        Mailbag<wire::Pong> pongs;
        near.spawn("worker-a", member_of("workers"));
        // It joins in its first turn, after spawn returned: in the group before it is watched.
        REQUIRE(eventually([&] { return alpha.list_group("workers").members.size() == 2; }));
        std::promise<std::vector<GroupMember>> watched;
        near.spawn("watcher", [&](Actor& self) {
            self.handle<MemberJoined>([&](MemberJoined& j) { joins.put(j); });
            self.handle<MemberLeft>([&](MemberLeft& l) { leaves.put(l); });
            self.handle<wire::Pong>([&](wire::Pong& p) { pongs.put(p); });
            self.handle<wire::Go>(
                [&self](wire::Go&) { self.send(group("workers", Pick::all), wire::Ping{100}); });
            watched.set_value(*self.watch_group("workers"));
        });
        const auto members = watched.get_future().get();
        REQUIRE(members.size() == 2);
        CHECK(members[0].name == "worker-b@beta");
        CHECK(members[1].name == "worker-a");

        // A member that joins on beta now is told across as it joins.
        auto second = spawn_node(b.node("farther"), "worker-c", member_of("workers"));
        REQUIRE(second.expect('r'));
        auto joined = joins.take(10s);
        REQUIRE(joined);
        CHECK(joined->member.name == "worker-c@beta");
        CHECK(joined->member.node == "farther@beta");

        // One message to all of them reaches every member, on both hosts.
        near.send("watcher", wire::Go{});
        for (int i = 0; i < 3; ++i) {
            auto pong = pongs.take(10s);
            REQUIRE(pong);
            CHECK(pong->n == 101);
        }
        CHECK(member_names(alpha, "workers") ==
              std::vector<std::string>{"worker-b@beta", "worker-a", "worker-c@beta"});
        // courier groups shows another host's member by where it lives, with no pid.
        const auto shown = run_command(
            {(bin_dir() / "courier").string(), "groups", "--runtime-dir", a.dir.path().string()});
        CHECK(shown.exit_code == 0);
        CHECK_THAT(shown.out, Catch::Contains("worker-b@beta on far@beta") &&
                                  Catch::Contains("worker-c@beta on farther@beta") &&
                                  Catch::Contains("worker-a@near "));

        // A member of beta that stops leaves alpha's view of the group too.
        second.send('q');
        CHECK(second.wait_exit());
        auto left = leaves.take(10s);
        REQUIRE(left);
        CHECK(left->member.name == "worker-c@beta");
        CHECK(left->reason == LeaveReason::stopped);

        // beta lost: its members leave with it; alpha's stays.
        b.courierd->kill(SIGSTOP);
        left = leaves.take(10s);
        REQUIRE(left);
        CHECK(left->member.name == "worker-b@beta");
        CHECK(left->reason == LeaveReason::host_lost);
        CHECK(member_names(alpha, "workers") == std::vector<std::string>{"worker-a"});

        // beta back: its member is in the group again.
        b.courierd->kill(SIGCONT);
        joined = joins.take(10s);
        REQUIRE(joined);
        CHECK(joined->member.name == "worker-b@beta");
        first.send('q');
        CHECK(first.wait_exit());
    }
    CHECK(hosts.finish());
}
