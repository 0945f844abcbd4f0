// A node sizes its workers and their spinning to its CPUs (on one CPU a worker yields
// it while it spins): counted as the kernel sees
// them, by the threads named courier-worker in /proc/self/task.
#include "thread_sizing.hpp"

#include <courier/courier.hpp>

#include "test_messages.hpp"

#include <sched.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {

int worker_threads() {
    int count = 0;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(task.path() / "comm");
        std::string name;
        if (std::getline(comm, name) && name == "courier-worker") ++count;
    }
    return count;
}

/// How many workers a node made with `options` (alone: no registry) starts.
int workers_of(courier::NodeOptions options) {
    options.use_registry = false;
    options.handle_signals = false;
    const int before = worker_threads();
    courier::Node node(options);
    return worker_threads() - before;
}

}  // namespace

TEST_CASE("a node's workers and spinning follow its CPUs", "[thread_sizing]") {
    using courier::detail::ThreadSizing;
    courier::NodeOptions options;
    options.worker_spin = 40us;

    options.cpus = 1;
    CHECK(ThreadSizing::of(options).threads == 1);
    CHECK(ThreadSizing::of(options).yielding);
    CHECK(workers_of(options) == 1);

    options.cpus = 1.9;  // a quota of 1.9 CPUs: still no CPU to spare for spinning
    CHECK(ThreadSizing::of(options).threads == 1);
    CHECK(ThreadSizing::of(options).yielding);

    options.cpus = 4;
    CHECK(ThreadSizing::of(options).threads == 2);
    CHECK(ThreadSizing::of(options).spin == 40us);
    CHECK_FALSE(ThreadSizing::of(options).yielding);
    CHECK(workers_of(options) == 2);

    // Explicit threads win; spinning still follows the CPUs.
    options.threads = 3;
    options.cpus = 1;
    CHECK(ThreadSizing::of(options).threads == 3);
    CHECK(ThreadSizing::of(options).yielding);
    CHECK(workers_of(options) == 3);
}

TEST_CASE("a node started on one CPU (taskset) runs one worker that yields while it spins",
          "[thread_sizing]") {
    int workers = 0;
    bool yielding = false;
    // A thread of its own, pinned as `taskset -c 0` would pin a process; the node's
    // threads inherit its mask.
    std::thread([&] {
        cpu_set_t all, one;
        CPU_ZERO(&one);
        if (::sched_getaffinity(0, sizeof all, &all) != 0) return;
        for (std::size_t cpu = 0; cpu < std::size_t{CPU_SETSIZE}; ++cpu) {
            if (CPU_ISSET(cpu, &all)) {
                CPU_SET(cpu, &one);
                break;
            }
        }
        if (::sched_setaffinity(0, sizeof one, &one) != 0) return;
        yielding = courier::detail::ThreadSizing::of({}).yielding;
        workers = workers_of({});
    }).join();
    CHECK(workers == 1);
    CHECK(yielding);
}

TEST_CASE("a node on one worker still runs every actor and answers requests", "[thread_sizing]") {
    courier::NodeOptions options;
    options.cpus = 1;
    options.use_registry = false;
    options.handle_signals = false;
    courier::Node node(options);
    for (int i = 0; i < 4; ++i) {
        node.spawn("echo-" + std::to_string(i), [](courier::Actor& self) {
            self.handle<test::Ping>(
                [&self](test::Ping& ping) { self.reply(test::Pong{ping.n * 2}); });
        });
    }
    for (int round = 0; round < 50; ++round) {
        for (int i = 0; i < 4; ++i) {
            auto answer =
                node.request<test::Pong>("echo-" + std::to_string(i), test::Ping{round}, 5s);
            REQUIRE(answer);
            CHECK(answer->n == round * 2);
        }
    }
}
