// The registry's etcd mode (docs/multihost.md): two "hosts" on loopback, each a courierd
// of its own runtime directory, find each other's names in a real etcd the test starts,
// not through a peer list. A name is held once in the cluster; a host whose courierd is
// killed is gone when its lease ends, and its names resolve again when it is back; a node
// with another cookie sees the names but gets no link. With etcd stopped (SIGSTOP): a
// registration is refused after 3 s and the name etcd gives it late goes back, and the
// hosts take each other as gone, then find each other again once etcd is back.

#include "etcd_server.hpp"
#include "federation_support.hpp"
#include "node_support.hpp"

#include "registry/etcd_client.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace courier;
using namespace courier::test;

namespace {

/// alpha and beta in etcd mode on one etcd; both courierds serve.
struct EtcdPair {
    EtcdServer etcd;
    SharedCookie cookie;
    Host a{"alpha", "127.0.0.1", 0};
    Host b{"beta", "127.0.0.1", 0};

    EtcdPair() {
        a.configure_etcd(etcd.endpoint());
        b.configure_etcd(etcd.endpoint());
        a.start();
        b.start();
    }
    bool finish() {
        a.stop();
        b.stop();
        return a.dir.wait_until_empty() && b.dir.wait_until_empty();
    }
};

/// `remote`'s echo@beta resolves again at alpha (the same process) and a node of alpha
/// reaches it; then `remote` ends.
void answers_again(RegistryClient& alpha, Host& a, Child& remote) {
    const auto back = alpha.lookup("echo@beta", 15s);
    REQUIRE(back.found);
    CHECK(back.pid == remote.pid());
    Node near(a.node("near"));
    auto pong = near.request<wire::Pong>("echo@beta", wire::Ping{5}, 10s);
    REQUIRE(pong);
    CHECK(pong->n == 6);
    remote.send('q');
    CHECK(remote.wait_exit());
}

}  // namespace

TEST_CASE(
    "etcd mode: a name of another host resolves by name@host and by its plain name, a name "
    "is held once in the cluster, and a group spans the hosts",
    "[process][federation][etcd]") {
    EtcdPair hosts;
    Host& a = hosts.a;
    Host& b = hosts.b;
    {
        auto remote = spawn_node(b.node("far"), "echo", [](Actor& self) {
            if (auto joined = self.join("workers"); !joined)
                throw std::runtime_error(joined.error().message);
            echo(self);
        });
        REQUIRE(remote.expect('r'));
        RegistryClient alpha(a.dir.options());
        const auto where = alpha.lookup("echo@beta", 10s);
        REQUIRE(where.found);
        CHECK(where.host == "beta");
        CHECK(where.node == "far@beta");
        CHECK(alpha.lookup("echo").host == "beta");

        Node near(a.node("near"));
        auto pong = near.request<wire::Pong>("echo", wire::Ping{1}, 10s);
        REQUIRE(pong);
        CHECK(pong->n == 2);

        // One key per name in etcd: alpha cannot hold echo too.
        REQUIRE(alpha.register_node("other", {}).ok);
        const auto refused = alpha.register_name("echo");
        CHECK_FALSE(refused.ok);
        CHECK_THAT(refused.error, Catch::Contains("held by host 'beta'"));
        CHECK(alpha.register_name("alpha-only").ok);
        CHECK(alpha.lookup("alpha-only").found);

        // beta's member is in alpha's view of the group.
        REQUIRE(eventually([&] { return alpha.list_group("workers").members.size() == 1; }, 10s));
        const auto members = alpha.list_group("workers").members;
        CHECK(members.at(0).name == "echo@beta");
        CHECK(members.at(0).node == "far@beta");

        // What etcd holds, as an operator sees it with etcdctl.
        registry::EtcdClient store({hosts.etcd.endpoint()}, 2s);
        std::vector<std::string> keys;
        for (const auto& kv : store.range("/courier/").kvs) keys.push_back(kv.key);
        CHECK(keys == std::vector<std::string>{"/courier/hosts/alpha", "/courier/hosts/beta",
                                               "/courier/members/beta/workers/echo",
                                               "/courier/names/alpha-only", "/courier/names/echo"});

        // An end is told across with its reason, as in the static mode.
        NameDownBox downs;
        alpha.on_name_down(downs.handler());
        REQUIRE(alpha.watch("echo@beta").found);
        remote.send('q');
        CHECK(remote.wait_exit());
        auto down = downs.wait_for("echo@beta", 10s);
        REQUIRE(down);
        CHECK(down->reason == registry::down_unregistered);
        CHECK(eventually([&] { return alpha.list_group("workers").members.empty(); }, 10s));
    }
    CHECK(hosts.finish());
}

TEST_CASE(
    "etcd mode: a host whose courierd is killed is gone when its lease ends and its names "
    "resolve again once a courierd holds them again",
    "[process][federation][etcd]") {
    EtcdPair hosts;
    Host& a = hosts.a;
    Host& b = hosts.b;
    {
        // Its node waits for beta's next courierd instead of starting one of its own.
        auto far = b.node("far");
        far.registry.autostart = false;
        auto remote = spawn_node(far, "echo", echo);
        REQUIRE(remote.expect('r'));
        RegistryClient alpha(a.dir.options());
        NameDownBox downs;
        alpha.on_name_down(downs.handler());
        REQUIRE(alpha.lookup("echo@beta", 10s).found);
        REQUIRE(alpha.watch("echo@beta").found);

        const auto killed = std::chrono::steady_clock::now();
        b.courierd->kill(SIGKILL);
        REQUIRE(b.courierd->wait_exit());
        b.courierd.reset();
        auto down = downs.wait_for("echo@beta", 15s);
        const auto took = std::chrono::steady_clock::now() - killed;
        REQUIRE(down);
        CHECK(down->reason == registry::down_host_lost);
        // The lease lasts 2 s: etcd ends it within a few.
        CHECK(took < 10s);
        CHECK_FALSE(alpha.lookup("echo@beta").found);

        // A new courierd for beta: the node that still runs registers its name again.
        b.start();
        answers_again(alpha, a, remote);
    }
    CHECK(hosts.finish());
}

TEST_CASE(
    "etcd mode: a node with another cookie finds a name of another host in etcd but its link "
    "is refused, and nothing reaches the actor",
    "[process][federation][etcd][security]") {
    EtcdPair hosts;
    Host& a = hosts.a;
    Host& b = hosts.b;
    // etcd tells every host's names; only the cookie lets a node link to another's.
    const auto theirs = b.dir.path() / "theirs";
    std::ofstream(theirs) << std::string(40, 'b') << '\n';
    REQUIRE(::chmod(theirs.c_str(), 0600) == 0);
    {
        ::setenv("COURIER_COOKIE", theirs.c_str(), 1);
        auto remote = spawn_node(b.node("far"), "echo", recorder);
        REQUIRE(remote.expect('r'));
        ::setenv("COURIER_COOKIE", hosts.cookie.path.c_str(), 1);
        Node intruder(a.node("intruder"));
        REQUIRE(RegistryClient(a.dir.options()).lookup("echo@beta", 10s).found);
        auto answer = intruder.request<wire::Pong>("echo@beta", wire::Ping{1}, 5s);
        REQUIRE_FALSE(answer);
        CHECK_THAT(answer.error().message, Catch::Contains("refused our tcp cookie"));
        CHECK(intruder.links().empty());

        // beta's own node, with beta's cookie, reaches it: nothing came before.
        ::setenv("COURIER_COOKIE", theirs.c_str(), 1);
        Node friendly(b.node("friend"));
        auto count = friendly.request<wire::Pong>("echo", wire::Report{}, 5s);
        REQUIRE(count);
        CHECK(count->n == 0);
        ::setenv("COURIER_COOKIE", hosts.cookie.path.c_str(), 1);
        remote.send('q');
        CHECK(remote.wait_exit());
    }
    std::filesystem::remove(theirs);
    CHECK(hosts.finish());
}

TEST_CASE(
    "etcd mode: a registration etcd does not answer within 3 s is refused and the name etcd "
    "gives it late is given back to be free for another host",
    "[process][federation][etcd]") {
    EtcdPair hosts;
    {
        RegistryClient alpha(hosts.a.dir.options());
        RegistryClient beta(hosts.b.dir.options());
        REQUIRE(alpha.register_node("slow", {}).ok);
        REQUIRE(beta.register_node("other", {}).ok);
        registry::EtcdClient store({hosts.etcd.endpoint()}, 2s);
        const auto before = store.range("/courier/").revision;

        hosts.etcd.signal(SIGSTOP);
        const auto refused = alpha.register_name("late");
        CHECK_FALSE(refused.ok);
        CHECK_THAT(refused.error, Catch::Contains("etcd did not answer within 3000 ms"));
        CHECK_FALSE(alpha.lookup("late").found);
        hosts.etcd.signal(SIGCONT);

        // etcd's history from before the stop: alpha's claim went in late, then out.
        std::vector<std::string> history;  // "+value" or "-", read once `watching` ended
        std::atomic<bool> deleted{false};
        registry::EtcdClient watcher({hosts.etcd.endpoint()}, 2s);
        std::thread watching([&] {
            try {
                watcher.watch("/courier/names/late", before + 1, [&](auto events) {
                    for (const auto& e : events) history.push_back(e.put ? "+" + e.kv.value : "-");
                    if (!history.empty() && history.back() == "-") deleted = true;
                });
            } catch (const registry::EtcdError&) {
            }
        });
        const bool given_back = eventually([&] { return deleted.load(); }, 20s);
        watcher.stop();
        watching.join();
        REQUIRE(given_back);
        REQUIRE_FALSE(history.empty());
        CHECK_THAT(history.front(), Catch::Contains("alpha"));
        CHECK(history.back() == "-");
        CHECK(store.range("/courier/names/late").kvs.empty());
        // So another host may take it.
        CHECK(beta.register_name("late").ok);
    }
    CHECK(hosts.finish());
}

TEST_CASE(
    "etcd mode: a courierd that loses etcd takes the other hosts as gone after one lease and "
    "finds them again with their names once etcd is back",
    "[process][federation][etcd]") {
    EtcdPair hosts;
    {
        auto remote = spawn_node(hosts.b.node("far"), "echo", echo);
        REQUIRE(remote.expect('r'));
        RegistryClient alpha(hosts.a.dir.options());
        NameDownBox downs;
        alpha.on_name_down(downs.handler());
        REQUIRE(alpha.lookup("echo@beta", 10s).found);
        REQUIRE(alpha.watch("echo@beta").found);

        hosts.etcd.signal(SIGSTOP);
        auto down = downs.wait_for("echo@beta", 15s);
        REQUIRE(down);
        CHECK(down->reason == registry::down_host_lost);
        CHECK_FALSE(alpha.lookup("echo@beta").found);
        hosts.etcd.signal(SIGCONT);

        // beta's courierd kept its names and puts them again under a new lease; alpha's
        // reads the cluster afresh.
        answers_again(alpha, hosts.a, remote);
    }
    CHECK(hosts.finish());
}
