// Groups and pools across real processes, through courierd: a member in another process
// is seen joining, is sent to, and leaves its groups the moment it is killed; a pool's
// tasks held by a worker that is killed are done by another, each answered once.

#include "process_support.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <signal.h>

#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace courier;
using namespace courier::test;

struct Task {
    int n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
struct Result {
    int n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
struct Go {
    template <class A>
    void serialize(A&) {}
};

COURIER_MESSAGE(Task, "test.groups.Task");
COURIER_MESSAGE(Result, "test.groups.Result");
COURIER_MESSAGE(Go, "test.groups.Go");

/// A child whose node, once the parent writes 'g', hosts `actor` in group "workers":
/// answering each Task with n * 10, or (`holds`) never answering. Writes 'r' when joined.
Child spawn_worker(const TempRuntimeDir& dir, std::string node, std::string actor, bool holds) {
    return Child::fork([&dir, node, actor, holds](ChildChannel& channel) {
        if (channel.receive() != 'g') return 0;
        Node n(node_options(dir, node));
        std::vector<ReplyHandle> held;  // a holder's answers, kept until it is killed
        n.spawn(actor, [holds, &held](Actor& self) {
            if (!self.join("workers")) throw std::runtime_error("cannot join");
            self.handle([&self, &held, holds](Task& t) {
                if (holds)
                    held.push_back(self.reply_later());
                else
                    self.reply(Result{t.n * 10});
            });
        });
        channel.send('r');
        while (char c = channel.receive())
            if (c == 'q') break;
        return 0;
    });
}

}  // namespace

TEST_CASE("a member in another process is seen joining, is sent to, and leaves when killed",
          "[process][groups]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_worker(dir, "worker-node", "remote-worker", false);
        Node node(node_options(dir, "dispatcher-node"));
        Mailbag<std::string> events;
        Mailbag<int> results;
        node.spawn("watcher", [&](Actor& self) {
            auto now = self.watch_group("workers");
            REQUIRE(now);
            events.put("members " + std::to_string(now->size()));
            self.handle(
                [&](MemberJoined& j) { events.put("+" + j.member.name + " " + j.member.node); });
            self.handle([&](MemberLeft& l) {
                events.put("-" + l.member.name + " " + std::string(to_string(l.reason)));
            });
        });
        node.spawn("dispatcher", [&](Actor& self) {
            self.handle([&](Go&) {
                self.request<Result>(group("workers"), Task{7}, 10s,
                                     [&](auto result) { results.put(result ? result->n : -1); });
            });
        });
        CHECK(events.take() == "members 0");
        child.send('g');
        REQUIRE(child.expect('r', 20s));
        CHECK(events.take() == "+remote-worker worker-node");
        auto members = node.members("workers");
        REQUIRE(members);
        REQUIRE(members->size() == 1);
        CHECK((*members)[0].pid == child.pid());

        REQUIRE(node.send("dispatcher", Go{}));
        CHECK(results.take() == 70);

        child.kill(SIGKILL);
        CHECK(events.take() == "-remote-worker node exited");
        members = node.members("workers");
        REQUIRE(members);
        CHECK(members->empty());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("a pool's tasks held by a worker that is killed are done by another, each answered once",
          "[process][groups][pool]") {
    TempRuntimeDir dir;
    {
        auto holder = spawn_worker(dir, "holder-node", "holder", true);
        auto doer = spawn_worker(dir, "doer-node", "doer", false);
        Node node(node_options(dir, "pool-node"));
        PoolOptions options;
        options.max_in_flight = 5;
        node.spawn<Pool<Task, Result>>("pool", "workers", options);
        holder.send('g');
        REQUIRE(holder.expect('r', 20s));
        REQUIRE(eventually([&] {
            auto stats = node.request<PoolStats>("pool", PoolQuery{}, 5s);
            return stats && stats->members.size() == 1;
        }));

        constexpr int tasks = 20;
        Mailbag<std::pair<int, int>> answers;  // task, result (-1: an error)
        node.spawn("client", [&](Actor& self) {
            self.handle([&](Go&) {
                for (int n = 1; n <= tasks; ++n)
                    self.request<Result>("pool", Task{n}, 60s, [&answers, n](auto result) {
                        answers.put({n, result ? result->n : -1});
                    });
            });
        });
        REQUIRE(node.send("client", Go{}));
        REQUIRE(eventually([&] {
            auto stats = node.request<PoolStats>("pool", PoolQuery{}, 5s);
            return stats && stats->in_flight == 5 && stats->queued == tasks - 5;
        }));
        doer.send('g');
        REQUIRE(doer.expect('r', 20s));
        holder.kill(SIGKILL);  // with 5 tasks: they go to the doer

        std::map<int, std::vector<int>> got;
        for (int i = 0; i < tasks; ++i) {
            auto answer = answers.take();
            REQUIRE(answer);
            got[answer->first].push_back(answer->second);
        }
        CHECK_FALSE(answers.take(200ms));  // and nothing twice
        REQUIRE(got.size() == tasks);
        for (const auto& [n, values] : got) CHECK(values == std::vector<int>{n * 10});
        auto stats = node.request<PoolStats>("pool", PoolQuery{}, 5s);
        REQUIRE(stats);
        CHECK(stats->answered == tasks);
        CHECK(stats->retried >= 5);
        CHECK(stats->failed == 0);
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("after courierd is killed, members join again and a group send reaches them",
          "[process][groups][restart]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_worker(dir, "worker-node", "remote-worker", false);
        Node node(node_options(dir, "dispatcher-node"));
        Mailbag<std::string> events;
        Mailbag<int> results;
        node.spawn("watcher", [&](Actor& self) {
            REQUIRE(self.watch_group("workers"));
            self.handle([&](MemberJoined& j) { events.put("+" + j.member.name); });
            self.handle([&](MemberLeft& l) {
                events.put("-" + l.member.name + " " + std::string(to_string(l.reason)));
            });
        });
        node.spawn("dispatcher", [&](Actor& self) {
            self.handle([&](Go&) {
                self.request<Result>(group("workers"), Task{3}, 10s, [&](auto result) {
                    results.put(result ? result->n : -1);
                });
            });
        });
        child.send('g');
        REQUIRE(child.expect('r', 20s));
        CHECK(events.take() == "+remote-worker");

        REQUIRE(kill_courierd(dir));
        // A new courierd knows no groups until the nodes join and watch again.
        REQUIRE(eventually(
            [&] {
                try {
                    RegistryClient client(dir.options());
                    const auto list = client.list_group("workers");
                    return list.members.size() == 1 && list.members[0].pid == child.pid();
                } catch (const RegistryError&) {
                    return false;
                }
            },
            10s));
        REQUIRE(eventually([&] {
            auto members = node.members("workers");
            return members && members->size() == 1;
        }));
        // What the watcher heard, if anything, leaves the member in: a Left while its node
        // had not joined again is followed by its Joined.
        int in = 1;
        while (auto e = events.take(in == 1 ? 0ms : 10s)) in += e->front() == '+' ? 1 : -1;
        CHECK(in == 1);
        REQUIRE(node.send("dispatcher", Go{}));
        CHECK(results.take() == 30);
    }
    CHECK(dir.wait_until_empty());
}
