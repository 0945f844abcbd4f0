// Link::send's priority on every transport: where Capabilities::priorities is false it
// changes nothing (plain FIFO); where it is true, frames of one priority keep their order.
// That an urgent frame overtakes a backlog is tested per mechanism (sysv_test.cpp,
// posixmq_test.cpp), where the backlog each can hold is known.

#include "transport_fixtures.hpp"

#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <map>

using namespace courier;
using namespace courier::test;

namespace {

bool has_priorities(const TransportFixture& fixture) {
    TempDir dir;
    const auto* entry = TransportRegistry::builtin().find(fixture.endpoint(dir).scheme);
    REQUIRE(entry != nullptr);
    return entry->capabilities.priorities;
}

/// Few enough frames that every mechanism holds them without a reader (posixmq: 10).
constexpr std::uint32_t queued = 8;

std::uint8_t priority_of(std::uint32_t i) {
    return static_cast<std::uint8_t>((i % 3) * 100);  // 0, 100, 200, 0, ...
}

}  // namespace

TEST_CASE("a transport without priorities keeps send order whatever the priority",
          "[transport][priority]") {
    for (const auto& fixture : transport_fixtures()) {
        if (has_priorities(fixture)) continue;
        DYNAMIC_SECTION(fixture.name) {
            TempDir dir;
            auto pair = connect_pair(fixture.endpoint(dir));
            CHECK_FALSE(pair.client->capabilities().priorities);
            for (std::uint32_t i = 0; i < queued; ++i) {
                pair.client->send(pattern(32, i), {}, priority_of(i));
            }
            auto received = receive_frames(*pair.server, queued);
            REQUIRE(received.frames.size() == queued);
            for (std::uint32_t i = 0; i < queued; ++i) {
                CHECK(same_bytes(received.frames[i].data(), pattern(32, i)));
                CHECK(received.frames[i].priority == 0);
            }
        }
    }
}

TEST_CASE(
    "a transport with priorities delivers the most urgent queued frames first, each "
    "priority in order",
    "[transport][priority]") {
    std::size_t tested = 0;
    for (const auto& fixture : transport_fixtures()) {
        if (!has_priorities(fixture)) continue;
        ++tested;
        DYNAMIC_SECTION(fixture.name) {
            TempDir dir;
            auto pair = connect_pair(fixture.endpoint(dir));
            CHECK(pair.client->capabilities().priorities);
            for (std::uint32_t i = 0; i < queued; ++i) {
                pair.client->send(pattern(32, i), {}, priority_of(i));
            }
            auto received = receive_frames(*pair.server, queued);
            REQUIRE(received.frames.size() == queued);
            std::map<std::uint8_t, std::uint32_t> next;  // per priority: the next seed due
            for (const auto& frame : received.frames) {
                auto& seed = next[frame.priority];
                while (seed < queued && priority_of(seed) != frame.priority) ++seed;
                REQUIRE(seed < queued);
                CHECK(same_bytes(frame.data(), pattern(32, seed)));
                ++seed;
            }
            CHECK(next.size() == 3);
        }
    }
    CHECK(tested >= 2);  // sysv and posixmq
}
