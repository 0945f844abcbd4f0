// SIGTERM and SIGINT stop a node cleanly (NodeOptions::handle_signals): the letters
// already queued are handled, on_stop runs, the names go from the registry, nothing is
// left in the runtime directory, and the process exits 0, whether or not its main()
// waits in Node::wait(). A second signal during a long drain exits at once (the same
// signal sent twice at once does not); with handle_signals off the default action kills
// the process as before.
//
// The child's actor proves the order: its first letter waits (with a deadline) until the
// node stops listening, the stop's first step, so every other letter is still in its
// mailbox when the stop begins; it says 'b' then, and its on_stop sends how many letters
// it handled.

#include "process_support.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>

namespace sigtest {
struct Work {
    int n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
}  // namespace sigtest

COURIER_MESSAGE(sigtest::Work, "test.signal.Work");

namespace {

using namespace courier;
using namespace courier::test;

constexpr int letters = 5;

/// Handles Work slowly (`per_letter` each); the first waits for the node to stop
/// listening, then writes 'b'; on_stop writes how many it handled.
class Worker final : public Actor {
  public:
    Worker(ChildChannel& channel, milliseconds per_letter)
        : channel_(channel), per_letter_(per_letter) {}

    void on_start() override {
        handle<sigtest::Work>([this](sigtest::Work&) {
            if (!stop_seen_) {
                stop_seen_ = eventually([this] { return node().endpoints().empty(); }, 10s);
                channel_.send(stop_seen_ ? 'b' : 'x');
            }
            std::this_thread::sleep_for(per_letter_);  // the work itself
            ++handled_;
        });
    }
    void on_stop() override { channel_.send(static_cast<char>(handled_)); }

  private:
    ChildChannel& channel_;
    milliseconds per_letter_;
    bool stop_seen_ = false;
    int handled_ = 0;
};

struct Setup {
    bool handle_signals = true;
    bool waits = true;  ///< main() waits in Node::wait(), else blocks elsewhere
    milliseconds per_letter{10};
    milliseconds drain_timeout{5000};
};

/// A child whose node "sig-node" has the actor "sig-worker" with `letters` letters queued;
/// writes 'r' once they are.
Child spawn_worker(const TempRuntimeDir& dir, Setup setup) {
    return Child::fork([&dir, setup](ChildChannel& channel) {
        // As in a new process, not as in the test runner, whose framework catches these.
        std::signal(SIGTERM, SIG_DFL);
        std::signal(SIGINT, SIG_DFL);
        NodeOptions options;
        options.name = "sig-node";
        options.registry = dir.options();
        options.handle_signals = setup.handle_signals;
        options.drain_timeout = setup.drain_timeout;
        Node node(options);
        node.spawn<Worker>("sig-worker", channel, setup.per_letter);
        for (int i = 0; i < letters; ++i) node.send("sig-worker", sigtest::Work{i});
        channel.send('r');
        if (setup.waits) {
            node.wait();
            return 0;
        }
        channel.receive();  // until the test goes: only the signal's stop ends the process
        return 3;
    });
}

/// The child's main thread sleeps: once it has said 'r', that is in Node::wait() (or, when
/// it does not wait, in its read of the channel). So the signal finds it there.
bool main_thread_asleep(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto end = line.rfind(')');  // the command's name may hold anything
    return end != std::string::npos && end + 2 < line.size() && line[end + 2] == 'S';
}

/// An actor of `node` watching "sig-worker"; its Downs go to `downs`.
void watch_worker(Node& node, Mailbag<Down>& downs) {
    Mailbag<int> watching;
    node.spawn("sig-watcher", [&](Actor& self) {
        self.handle<Down>([&downs](Down& down) { downs.put(down); });
        self.monitor("sig-worker");
        watching.put(1);
    });
    REQUIRE(watching.take(5s));
}

NodeOptions watcher_options(const TempRuntimeDir& dir) {
    NodeOptions options;
    options.name = "sig-watcher-node";
    options.registry = dir.options();
    return options;
}

/// The stop a signal makes, seen from outside: exit 0, every queued letter handled
/// before on_stop, the name gone with a Down, and (checked by the caller) nothing left.
void check_clean_stop(const TempRuntimeDir& dir, int signo, bool waits) {
    auto child = spawn_worker(dir, Setup{.waits = waits});
    REQUIRE(child.expect('r'));
    Node watcher(watcher_options(dir));
    Mailbag<Down> downs;
    watch_worker(watcher, downs);

    REQUIRE(eventually([&] { return main_thread_asleep(child.pid()); }));
    child.kill(signo);
    CHECK(child.expect('b', 10s));  // the stop began with the letters queued
    auto status = child.wait_exit(10s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    CHECK(child.expect(static_cast<char>(letters)));  // on_stop ran, after all of them

    auto down = downs.take(5s);
    REQUIRE(down);
    CHECK(down->name == "sig-worker");
    CHECK(down->reason == DownReason::stopped);  // unregistered by the stop, not by the exit
    CHECK_FALSE(watcher.wait_for("sig-worker", 0ms));
    CHECK(watcher.links().empty());  // the link to it closed
}

}  // namespace

TEST_CASE("SIGTERM stops a node cleanly: queued letters handled, on_stop run, names gone, exit 0",
          "[process][signals]") {
    TempRuntimeDir dir;
    check_clean_stop(dir, SIGTERM, /*waits=*/true);
    CHECK(dir.wait_until_empty());
}

TEST_CASE("SIGINT stops a node cleanly as SIGTERM does", "[process][signals]") {
    TempRuntimeDir dir;
    check_clean_stop(dir, SIGINT, /*waits=*/true);
    CHECK(dir.wait_until_empty());
}

TEST_CASE("a signal's clean stop ends the process with 0 when main() never waits on the node",
          "[process][signals]") {
    TempRuntimeDir dir;
    check_clean_stop(dir, SIGTERM, /*waits=*/false);
    CHECK(dir.wait_until_empty());
}

TEST_CASE("a second signal during a long drain exits at once with 128 + the signal",
          "[process][signals]") {
    TempRuntimeDir dir;
    {
        // Five letters of 20 s each, and a drain that would wait for them all.
        auto child = spawn_worker(dir, Setup{.per_letter = 20s, .drain_timeout = 200s});
        REQUIRE(child.expect('r'));
        const auto first = std::chrono::steady_clock::now();
        child.kill(SIGTERM);
        REQUIRE(child.expect('b', 10s));
        // Sooner, it would count as the first one sent twice.
        std::this_thread::sleep_until(first + 250ms);
        const auto second = std::chrono::steady_clock::now();
        child.kill(SIGTERM);
        auto status = child.wait_exit(5s);
        REQUIRE(status);
        CHECK(std::chrono::steady_clock::now() - second < 2s);
        CHECK(WIFEXITED(*status));
        CHECK(WEXITSTATUS(*status) == 128 + SIGTERM);
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("a signal sent twice at once, as timeout(1) sends it, still stops the node cleanly",
          "[process][signals]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_worker(dir, Setup{});
        REQUIRE(child.expect('r'));
        REQUIRE(eventually([&] { return main_thread_asleep(child.pid()); }));
        child.kill(SIGTERM);
        child.kill(SIGTERM);
        CHECK(child.expect('b', 10s));
        auto status = child.wait_exit(10s);
        REQUIRE(status);
        CHECK(WIFEXITED(*status));
        CHECK(WEXITSTATUS(*status) == 0);
        CHECK(child.expect(static_cast<char>(letters)));
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("with handle_signals off, SIGTERM kills the node by the default action",
          "[process][signals]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_worker(dir, Setup{.handle_signals = false, .per_letter = 20s});
        REQUIRE(child.expect('r'));
        child.kill(SIGTERM);
        auto status = child.wait_exit(5s);
        REQUIRE(status);
        CHECK(WIFSIGNALED(*status));
        CHECK(WTERMSIG(*status) == SIGTERM);
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("one signal stops every node of the process that handles signals, and only those",
          "[process][signals]") {
    auto child = Child::fork([](ChildChannel& channel) {
        std::signal(SIGTERM, SIG_DFL);
        std::signal(SIGINT, SIG_DFL);
        auto options = [](std::string name, bool handle_signals) {
            NodeOptions o;
            o.name = std::move(name);
            o.use_registry = false;
            o.threads = 1;
            o.handle_signals = handle_signals;
            return o;
        };
        // Each says its letter when it stops.
        struct Sayer final : Actor {
            Sayer(ChildChannel& c, char l) : channel(c), letter(l) {}
            void on_stop() override { channel.send(letter); }
            ChildChannel& channel;
            char letter;
        };
        Node a(options("sig-a", true));
        Node b(options("sig-b", true));
        Node c(options("sig-c", false));
        a.spawn<Sayer>("sayer", channel, 'a');
        b.spawn<Sayer>("sayer", channel, 'b');
        c.spawn<Sayer>("sayer", channel, 'c');
        channel.send('r');
        a.wait();
        channel.send('w');  // c's sayer stops only now, as c is destroyed
        return 0;
    });
    REQUIRE(child.expect('r'));
    REQUIRE(eventually([&] { return main_thread_asleep(child.pid()); }));
    child.kill(SIGINT);
    auto status = child.wait_exit(10s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    // a and b stop in either order, both before wait() returns; c after.
    std::string said;
    while (auto c = child.next(1s)) said += *c;
    CHECK((said == "abwc" || said == "bawc"));
}
