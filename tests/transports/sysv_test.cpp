// sysv: what the conformance suite cannot see — queue cleanup, the waiter thread
// (docs/transports/sysv.md). A killed peer is in the conformance suite.

#include "transport_fixtures.hpp"

#include <courier/transports/transport.hpp>

#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

using namespace courier;
using namespace courier::test;
using State = ReceiveStatus::State;

namespace {

/// The two queue ids a link names in its peer() description.
std::vector<int> queues_of(const Link& link) {
    const std::string text = link.peer();
    std::smatch match;
    REQUIRE(std::regex_search(text, match, std::regex(R"(queues in (-?\d+), out (-?\d+))")));
    return {std::stoi(match[1]), std::stoi(match[2])};
}

bool queue_exists(int id) {
    msqid_ds info{};
    return ::msgctl(id, IPC_STAT, &info) == 0;
}

/// Polls until no queue of `ids` exists, or the deadline passes.
bool queues_gone(const std::vector<int>& ids) {
    const auto until = Clock::now() + deadline;
    while (Clock::now() < until) {
        if (std::none_of(ids.begin(), ids.end(), queue_exists)) return true;
        std::this_thread::sleep_for(milliseconds(5));
    }
    return false;
}

std::size_t thread_count() {
    const auto tasks = std::filesystem::directory_iterator("/proc/self/task");
    return static_cast<std::size_t>(std::distance(begin(tasks), end(tasks)));
}

std::size_t read_proc(const char* path) {
    std::ifstream in(path);
    std::size_t value = 0;
    in >> value;
    return value;
}

}  // namespace

TEST_CASE("sysv declares the kernel's message limit and priorities", "[transport][sysv]") {
    const auto* entry = TransportRegistry::builtin().find("sysv");
    REQUIRE(entry != nullptr);
    const auto limit =
        std::min(read_proc("/proc/sys/kernel/msgmax"), read_proc("/proc/sys/kernel/msgmnb"));
    CHECK(entry->capabilities.native_frame_limit == limit);
    CHECK(entry->capabilities.priorities);
    CHECK_FALSE(entry->capabilities.fd_passing);
    CHECK_FALSE(entry->capabilities.cross_host);
}

TEST_CASE("sysv refuses malformed names", "[transport][sysv]") {
    const auto& registry = TransportRegistry::builtin();
    CHECK_THROWS_AS(registry.listen(Endpoint{"sysv", "has space"}), std::invalid_argument);
    CHECK_THROWS_AS(registry.listen(Endpoint{"sysv", std::string(81, 'a')}), std::invalid_argument);
    CHECK_THROWS_AS(registry.connect(Endpoint{"sysv", "a:b"}), std::invalid_argument);
}

TEST_CASE("sysv leaves no queue after a link closes", "[transport][sysv]") {
    auto pair = connect_pair(sysv_endpoint());
    const auto ids = queues_of(*pair.client);
    CHECK(ids == std::vector<int>{queues_of(*pair.server)[1], queues_of(*pair.server)[0]});
    CHECK(std::all_of(ids.begin(), ids.end(), queue_exists));
    SECTION("both ends close") {
        pair.client.reset();
        pair.server.reset();
        CHECK(queues_gone(ids));
    }
    SECTION("one end closes, the other notices") {
        pair.client->send(pattern(5, 1));
        pair.client.reset();
        auto received = receive_until_end(*pair.server);
        CHECK(received.frames.size() == 1);
        CHECK(received.status.state == State::closed);
        CHECK(queues_gone(ids));
    }
}

TEST_CASE("sysv stops the waiter thread when a link closes", "[transport][sysv]") {
    const auto before = thread_count();
    {
        auto pair = connect_pair(sysv_endpoint());
        CHECK(thread_count() >= before + 2);  // a waiter per end
    }
    const auto until = Clock::now() + deadline;
    while (thread_count() > before && Clock::now() < until)
        std::this_thread::sleep_for(milliseconds(5));
    CHECK(thread_count() == before);
}
