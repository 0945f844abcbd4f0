// What the socket stream transports (unix:, tcp:) offer the node beyond send(): a send
// that never waits (try_send, for the node's heartbeats from its reactor thread) and an
// abort that frees a sender blocked on a peer that no longer reads.

#include "leftovers.hpp"
#include "transport_fixtures.hpp"

#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <functional>
#include <string>
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

namespace {

/// This process's resident memory, in KiB (VmRSS of /proc/self/status).
std::size_t resident_kib() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "VmRSS:") {
            std::size_t kib = 0;
            status >> kib;
            return kib;
        }
        status.ignore(1 << 12, '\n');
    }
    FAIL("no VmRSS in /proc/self/status");
    return 0;
}

}  // namespace

TEST_CASE(
    "400 connections that each announce a 4 MiB frame and send nothing more hold less "
    "than 32 MiB, for a frame's buffer grows with what arrives, not with its length",
    "[transport][stream][security]") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    WARN("not run under AddressSanitizer or ThreadSanitizer, whose own memory it would count");
    return;
#endif
    // 800 descriptors and a few: raise the soft limit to the hard one if it is lower.
    rlimit files{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
    if (files.rlim_cur < 1024 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = std::min<rlim_t>(files.rlim_max, 4096);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &files) == 0);
    }
    for_each_stream([](const TransportFixture& fixture, const TempDir&, const Endpoint& endpoint) {
        constexpr std::size_t connections = 400;
        auto listener = TransportRegistry::builtin().listen(endpoint);
        std::vector<RawAccepted> strangers;
        strangers.reserve(connections);
        for (std::size_t i = 0; i < connections; ++i)
            strangers.push_back(raw_accepted(fixture, *listener));
        const std::size_t before = resident_kib();
        for (auto& [raw, server] : strangers) {
            write_raw(raw.get(), length_prefix(4U << 20));
            REQUIRE(wait_readable(server->poll_fd()));
            std::vector<Frame> frames;
            CHECK(server->receive(frames).state == ReceiveStatus::State::open);
            CHECK(frames.empty());
        }
        const std::size_t after = resident_kib();
        INFO("resident " << before << " KiB before the lengths, " << after << " KiB after");
        CHECK(after < before + 32 * 1024);
    });
}
