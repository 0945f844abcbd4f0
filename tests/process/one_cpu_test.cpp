// Nodes with one CPU each (NodeOptions::cpus below 2, as under `taskset -c 0` or a CPU
// quota): the idle worker waits for the links read through descriptors itself
// (Scheduler::lead), and the reactor reads only what arrives while the worker is busy.
// Frames must arrive whole and in order whichever thread reads them.

#include "node_support.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>

using namespace courier;
using namespace courier::test;

namespace {
constexpr std::int64_t flood = 5'000;
constexpr int round_trips = 300;
}  // namespace

TEST_CASE("nodes with one CPU each carry round trips and floods whole over every transport",
          "[process][node]") {
    const std::string transport =
        GENERATE(as<std::string>{}, "unix", "tcp", "fifo", "shm", "sysv", "posixmq");
    INFO("transport " << transport);
    const std::string toml = "[node]\ncpus = 1\n[links]\npreference = [\"" + transport + "\"]\n";
    TempRuntimeDir dir;
    {
        auto child = spawn_node(configured(dir, "one-cpu-recorder", toml), "recorder", recorder);
        REQUIRE(child.expect('r'));
        Node node(configured(dir, "one-cpu-sender", toml));

        // A flood from outside any actor: each send goes to the link at once.
        for (std::int64_t i = 0; i < flood; ++i) node.send("recorder", wire::Ping{i});
        auto count = node.request<wire::Pong>("recorder", wire::Report{}, 10s);
        REQUIRE(count);
        CHECK(count->n == flood);  // -1 had one come out of order

        // Round trips from an actor, each waiting for the last answer: the worker of each
        // node sleeps between them, waiting for the link.
        Mailbag<std::int64_t> done;
        node.spawn("asker", [&done](Actor& self) {
            auto left = std::make_shared<int>(round_trips);
            self.handle<wire::Ping>([&self, &done, left](wire::Ping&) {  // ask again
                self.request<wire::Pong>("recorder", wire::Report{}, 10s,
                                         [&self, &done, left](Expected<wire::Pong, Error> r) {
                                             if (!r || r->n != flood) return done.put(-2);
                                             if (--*left == 0) return done.put(round_trips);
                                             self.send(self.name(), wire::Ping{});
                                         });
            });
            self.send(self.name(), wire::Ping{});
        });
        auto answered = done.take();
        REQUIRE(answered);
        CHECK(*answered == round_trips);

        auto links = node.links();
        const auto* link = link_to(links, "one-cpu-recorder");
        REQUIRE(link);
        CHECK(link->transport == transport);
        child.send('q');
    }
    CHECK(dir.wait_until_empty());
}
