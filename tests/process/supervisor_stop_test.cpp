// A supervisor that stops, with real child processes: stopped by its node, it stops its
// children last started first, each with SIGTERM and then SIGKILL once its shutdown time
// is over; when it gives up, a monitor in another process hears Down{stopped} through the
// registry. No test leaves a zombie.

#include "spawn_messages.hpp"
#include "supervisor_support.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <map>

namespace {

using namespace courier;
using namespace courier::test;
using Clock = std::chrono::steady_clock;

}  // namespace

TEST_CASE(
    "a supervisor that is stopped stops its children last started first: SIGTERM then "
    "SIGKILL after their shutdown time",
    "[process][supervisor][stop]") {
    TempRuntimeDir dir;
    std::map<std::string, ChildInfo> children;
    {
        Node node(parent_options(dir));
        Mailbag<Down> downs;
        SupervisorSpec spec;
        ChildSpec polite = worker(dir, "polite");  // stops cleanly on SIGTERM
        polite.shutdown = 10s;
        ChildSpec stubborn = worker(dir, "stubborn", {"--ignore-sigterm"});
        stubborn.shutdown = 500ms;
        spec.children.push_back(polite);
        spec.children.push_back(stubborn);
        node.spawn("watcher", [&](Actor& self) {
            self.handle<Down>([&downs](Down& down) { downs.put(down); });
            self.node().spawn<Supervisor>("sup", spec);
            self.monitor("sup");
        });
        REQUIRE(eventually([&] { return all_running(children = which(node), 2); }, 20s));

        const auto polite_pid = static_cast<pid_t>(children["polite"].pid);
        const auto stubborn_pid = static_cast<pid_t>(children["stubborn"].pid);
        std::optional<Clock::duration> polite_gone, stubborn_gone;
        const auto stopped = Clock::now();
        node.stop("sup");
        REQUIRE(eventually(
            [&] {
                const auto now = Clock::now() - stopped;
                if (!polite_gone && gone(polite_pid)) polite_gone = now;
                if (!stubborn_gone && gone(stubborn_pid)) stubborn_gone = now;
                return polite_gone && stubborn_gone;
            },
            15s));
        using std::chrono::milliseconds;
        const auto ms = [](Clock::duration d) {
            return std::chrono::duration_cast<milliseconds>(d).count();
        };
        INFO("stubborn gone after " << ms(*stubborn_gone) << " ms, polite after "
                                    << ms(*polite_gone) << " ms");
        // The last started went first, and only SIGKILL ended it, after its shutdown time.
        CHECK(ms(*stubborn_gone) >= 500);
        CHECK(*polite_gone >= *stubborn_gone);
        // The polite one ended on SIGTERM, long before its 10 s.
        CHECK(ms(*polite_gone) < 5000);

        auto down = downs.take();
        REQUIRE(down);
        CHECK(down->name == "sup");
        CHECK(down->reason == DownReason::stopped);
        CHECK(eventually([&] { return registered_pid(dir, "polite") == 0; }));
        CHECK(zombies().empty());
    }
    for (auto& [id, child] : children) CHECK(gone(static_cast<pid_t>(child.pid)));
    CHECK(zombies().empty());
}

TEST_CASE("a supervisor that gives up is reported as Down to a monitor in another process",
          "[process][supervisor][stop]") {
    TempRuntimeDir dir;
    // The watching process, forked before this test starts any thread: it monitors "sup"
    // once it is up ('m'), and writes the reason of its Down.
    Child watcher = Child::fork([&dir](ChildChannel& channel) {
        Node node(node_options(dir, "watcher-node"));
        node.spawn("watcher", [&channel](Actor& self) {
            self.handle([&self, &channel](Up& up) {
                self.monitor(up.name);
                channel.send('m');
            });
            self.handle([&channel](Down& down) {
                channel.send(static_cast<char>('0' + static_cast<int>(down.reason)));
            });
            self.await_up("sup");
        });
        channel.receive();  // until the test ends
        return 0;
    });
    std::int64_t victim = 0;
    {
        Node node(parent_options(dir));
        SupervisorSpec spec;
        spec.max_restarts = 0;  // the first crash is one too many
        spec.children.push_back(worker(dir, "victim"));
        node.spawn<Supervisor>("sup", spec);
        REQUIRE(watcher.expect('m', 20s));
        std::map<std::string, ChildInfo> children;
        REQUIRE(eventually([&] { return all_running(children = which(node), 1); }, 20s));
        victim = children["victim"].pid;

        REQUIRE(::kill(static_cast<pid_t>(victim), SIGKILL) == 0);
        auto reason = watcher.next(10s);
        REQUIRE(reason);
        CHECK(*reason == '0' + static_cast<int>(DownReason::stopped));
        // The supervisor's node lives on: only the supervisor went.
        CHECK(registered_pid(dir, "sup") == 0);
    }
    watcher.send('q');
    CHECK(watcher.wait_exit());
    CHECK(gone(static_cast<pid_t>(victim)));
    CHECK(zombies().empty());
}
