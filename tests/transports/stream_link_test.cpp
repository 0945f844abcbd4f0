// What the socket stream transports (unix:, tcp:) offer the node beyond send(): a send
// that never waits (try_send, for the node's heartbeats from its reactor thread) and an
// abort that frees a sender blocked on a peer that no longer reads.

#include "leftovers.hpp"
#include "transport_fixtures.hpp"

#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

using namespace courier;
using namespace courier::test;
using State = ReceiveStatus::State;

namespace {

/// Runs `body` once per socket transport (a byte stream with a listener), as in the
/// conformance suite.
void for_each_stream(
    const std::function<void(const TransportFixture&, const TempDir&, const Endpoint&)>& body) {
    for (const auto& fixture : transport_fixtures()) {
        if (!fixture.raw_connect || !fixture.listens) continue;
        DYNAMIC_SECTION(fixture.name) {
            TempDir dir;
            const Endpoint endpoint = fixture.endpoint(dir);
            const Leftovers leftovers(dir, endpoint);
            body(fixture, dir, endpoint);
            leftovers.check();
        }
    }
}

}  // namespace

TEST_CASE("try_send sends whole frames until the stream is full, then nothing, never waiting",
          "[transport][stream]") {
    for_each_stream([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        // 1000 B: not a divisor of any buffer size, so the last frame that goes is likely
        // written in part, and its tail kept for the next write.
        constexpr std::size_t size = 1000;
        std::uint32_t sent = 0;
        while (sent < 1'000'000 && pair.client->try_send(pattern(size, sent))) ++sent;
        INFO(sent << " frames went before the stream was full");
        REQUIRE(sent > 0);
        REQUIRE(sent < 1'000'000);  // it said false: it did not wait for room
        CHECK_FALSE(pair.client->try_send(pattern(size, sent)));

        // A kept tail goes out with the next write: flush() writes it once there is room.
        std::thread finisher([&] { pair.client->flush(); });
        auto received = receive_frames(*pair.server, sent);
        finisher.join();
        REQUIRE(received.frames.size() == sent);
        for (std::uint32_t i = 0; i < sent; ++i)
            REQUIRE(same_bytes(received.frames[i].data(), pattern(size, i)));

        // Read, so there is room again.
        REQUIRE(pair.client->try_send(pattern(size, sent)));
        auto next = receive_frames(*pair.server, 1);
        REQUIRE(next.frames.size() == 1);
        CHECK(same_bytes(next.frames[0].data(), pattern(size, sent)));
    });
}

TEST_CASE("a try_send's kept tail goes before the next frame of send()", "[transport][stream]") {
    for_each_stream([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        constexpr std::size_t size = 1000;
        std::uint32_t sent = 0;
        while (sent < 1'000'000 && pair.client->try_send(pattern(size, sent))) ++sent;
        REQUIRE(sent < 1'000'000);
        // A blocking send waits for room, then writes the kept tail and itself, in order.
        std::thread writer([&] { pair.client->send(pattern(size, sent)); });
        auto received = receive_frames(*pair.server, sent + 1);
        writer.join();
        REQUIRE(received.frames.size() == sent + 1);
        for (std::uint32_t i = 0; i <= sent; ++i)
            REQUIRE(same_bytes(received.frames[i].data(), pattern(size, i)));
    });
}

TEST_CASE("abort frees a sender blocked on a peer that does not read, and later sends fail",
          "[transport][stream]") {
    for_each_stream([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        std::atomic<pid_t> writer_tid{0};
        std::atomic<bool> done{false};
        Sender writer(
            [&] {
                writer_tid = ::gettid();
                for (std::uint32_t i = 0; i < 1024; ++i)
                    pair.client->send(pattern(std::size_t{64} << 10, i));
                done = true;
            },
            [&] { pair.server.reset(); });
        REQUIRE(wait_until([&] { return done || thread_asleep(writer_tid); }));
        REQUIRE_FALSE(done);  // 64 MiB never fit: it waits for the reader
        pair.client->abort();
        REQUIRE(wait_until([&] { return !thread_asleep(writer_tid) || done; }));
        CHECK_THROWS_AS(writer.join(), LinkError);
        CHECK_FALSE(done);
        CHECK_THROWS_AS(pair.client->send(pattern(16, 0)), LinkError);
        // The peer sees the link end.
        auto end = receive_until_end(*pair.server);
        CHECK(end.status.state != State::open);
    });
}
