// Monitors and Up notices between processes: an actor awaiting a name another process
// registers later gets Up with that registration's identity, without blocking; the Down
// that ends a monitor of it names the same incarnation.

#include "process_support.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <signal.h>

#include <string>

namespace {

using namespace courier;
using namespace courier::test;

/// A child whose node hosts `actor` (which does nothing), once the parent writes 'g'.
Child spawn_late_node(const TempRuntimeDir& dir, std::string node, std::string actor) {
    return Child::fork([&dir, node, actor](ChildChannel& channel) {
        Node n(node_options(dir, node));
        channel.send('r');
        if (channel.receive() != 'g') return 0;
        n.spawn(actor, [](Actor&) {});
        channel.send('s');
        while (char c = channel.receive())
            if (c == 'q') break;
        return 0;
    });
}

}  // namespace

TEST_CASE("an actor awaiting a name another process registers later gets Up, then its Down",
          "[process][monitors]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_late_node(dir, "late-node", "latecomer");
        REQUIRE(child.expect('r'));
        Node node(node_options(dir, "awaiting-node"));
        Mailbag<Up> ups;
        Mailbag<Down> downs;
        Mailbag<Monitor> monitors;
        node.spawn("awaiter", [&](Actor& self) {
            self.handle([&](Up& up) {
                ups.put(up);
                monitors.put(self.monitor(up.name));
            });
            self.handle([&](Down& down) { downs.put(down); });
            self.await_up("latecomer");  // returns at once: nobody holds it yet
            monitors.put(Monitor{});
        });
        REQUIRE(monitors.take());  // the awaiter's start is over
        CHECK_FALSE(ups.take(100ms));

        child.send('g');
        REQUIRE(child.expect('s'));
        auto up = ups.take();
        REQUIRE(up);
        CHECK(up->name == "latecomer");
        CHECK(up->node == "late-node");
        CHECK(up->pid == child.pid());
        CHECK(up->incarnation != 0);

        auto monitor = monitors.take();
        REQUIRE(monitor);
        child.kill(SIGKILL);
        auto down = downs.take();
        REQUIRE(down);
        CHECK(down->monitor == monitor->id);
        CHECK(down->reason == DownReason::node_exited);
        CHECK(down->incarnation == up->incarnation);
        CHECK(down->pid == child.pid());
    }
    CHECK(dir.wait_until_empty());
}
