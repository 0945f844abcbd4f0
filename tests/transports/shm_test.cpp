// shm: what the conformance suite cannot see — nothing left in /dev/shm, the ring's
// wrap-around (docs/transports/shm.md). A killed peer is in the conformance suite.

#include "transport_fixtures.hpp"

#include "shm/shm_ring.hpp"
#include "shm/shm_transport.hpp"

#include <courier/transports/buffer_pool.hpp>
#include <courier/transports/owner.hpp>
#include <courier/transports/transport.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

using namespace courier;
using namespace courier::test;
using State = ReceiveStatus::State;

namespace {

/// "/" + name, written so GCC 12 does not misreport -Wrestrict.
std::string slash(const std::string& name) {
    std::string result = "/";
    result += name;
    return result;
}

/// Takes every spare of the process's pool that earlier tests left: small buffers, and
/// large ones of each class (a power of two from 64 KiB to 4 MiB).
void empty(BufferPool& pool) {
    auto drain = [&](std::size_t size) {
        while (pool.take(size).capacity() != 0) {
        }
    };
    drain(0);
    drain((std::size_t{64} << 10) + 1);
    for (std::size_t size = std::size_t{128} << 10; size <= std::size_t{4} << 20; size *= 2)
        drain(size);
}

struct ShmName {
    std::string base = unique_name("courier-shm-test");
    Endpoint endpoint() const { return Endpoint{"shm", slash(base)}; }
};

/// Entries of /dev/shm that belong to links of `base`.
std::vector<std::string> segments_of(const std::string& base) {
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator("/dev/shm")) {
        const std::string file = entry.path().filename();
        if (file.starts_with(base + ".")) found.push_back(file);
    }
    return found;
}

/// Polls until no segment of `base` exists, or the deadline passes.
bool segments_gone(const std::string& base) {
    const auto until = Clock::now() + deadline;
    while (Clock::now() < until) {
        if (segments_of(base).empty()) return true;
        std::this_thread::sleep_for(milliseconds(5));
    }
    return false;
}

}  // namespace

TEST_CASE("shm declares one ring record as its native frame limit", "[transport][shm]") {
    const auto* entry = TransportRegistry::builtin().find("shm");
    REQUIRE(entry != nullptr);
    CHECK(entry->capabilities.native_frame_limit == detail::shm_frame_limit);
    CHECK(detail::shm_record_size(detail::shm_frame_limit) == detail::shm_min_ring);
    CHECK_FALSE(entry->capabilities.fd_passing);
    CHECK(detail::shm_ring_capacity(1) == detail::shm_min_ring);
    CHECK(detail::shm_ring_capacity((std::size_t{1} << 20) + 1) == std::size_t{2} << 20);
}

TEST_CASE("shm refuses malformed names", "[transport][shm]") {
    const auto& registry = TransportRegistry::builtin();
    CHECK_THROWS_AS(registry.listen(Endpoint{"shm", "no-slash"}), std::invalid_argument);
    CHECK_THROWS_AS(registry.listen(Endpoint{"shm", "/a/b"}), std::invalid_argument);
    CHECK_THROWS_AS(registry.connect(Endpoint{"shm", slash(std::string(81, 'a'))}),
                    std::invalid_argument);
}

TEST_CASE("shm leaves nothing in /dev/shm while a link is open or after it closes",
          "[transport][shm]") {
    ShmName name;
    auto pair = connect_pair(name.endpoint());
    CHECK(segments_gone(name.base));  // the connector removed the name once mapped
    pair.client->send(pattern(100, 1));
    CHECK(receive_frames(*pair.server, 1).frames.size() == 1);
    pair.client.reset();
    CHECK(receive_until_end(*pair.server).status.state == State::closed);
    pair.server.reset();
    pair.listener.reset();
    CHECK(segments_of(name.base).empty());
}

TEST_CASE("shm listeners remove segments left by dead processes", "[transport][shm]") {
    ShmName name;
    pid_t dead = 0;
    // A pid that just exited and was reaped.
    {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) ::_exit(0);
        REQUIRE(::waitpid(pid, nullptr, 0) == pid);
        dead = pid;
    }
    const std::string leftover = owned_name(name.base, Owner{dead, 1}, 1);
    // Our pid, but not our start: a process before us that had our pid.
    const std::string reused = owned_name(name.base, Owner{::getpid(), 1}, 2);
    const std::string live = owned_name(name.base, Owner::self(), 3);
    for (const auto& segment : {leftover, reused, live}) {
        const int fd = ::shm_open(slash(segment).c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
        REQUIRE(fd >= 0);
        ::close(fd);
    }
    REQUIRE(segments_of(name.base).size() == 3);
    auto listener = TransportRegistry::builtin().listen(name.endpoint());
    CHECK(segments_of(name.base) == std::vector<std::string>{live});
    for (const auto& segment : {leftover, reused, live}) ::shm_unlink(slash(segment).c_str());
}

TEST_CASE("shm ring records written in parts wrap around the end with odd sizes",
          "[transport][shm]") {
    const std::size_t capacity = detail::shm_min_ring;
    std::vector<std::byte> memory(capacity);
    detail::ShmRingState state;
    detail::ShmRing ring(state, memory.data(), capacity);
    std::vector<std::byte> out;
    std::uint64_t written = 0;
    int wraps = 0;
    for (std::uint32_t i = 0; i < 400; ++i) {
        const std::size_t size = (i * 7919U + 13U) % 70001U;  // odd and even, up to ~68 KiB
        const auto frame = pattern(size, i);
        REQUIRE(ring.free_space() >= detail::shm_record_size(size));
        const auto before = (written + detail::shm_record_header) % capacity;
        // In two parts, split at an odd place: either may be the one that wraps.
        const std::span<const std::byte> bytes(frame);
        const std::size_t cut = size / 3;
        const std::array<std::span<const std::byte>, 2> parts{bytes.first(cut), bytes.subspan(cut)};
        ring.write(parts, size);
        written += detail::shm_record_size(size);
        if (size != 0 && before + size > capacity) ++wraps;
        REQUIRE(ring.readable());
        REQUIRE(ring.read(out, detail::shm_frame_limit));
        REQUIRE(same_bytes(out, frame));
        CHECK_FALSE(ring.readable());
    }
    CHECK(wraps > 10);
    CHECK(state.head.load() == written);
    CHECK(state.tail.load() == written);
}

TEST_CASE("shm ring refuses a record longer than what was published", "[transport][shm]") {
    std::vector<std::byte> memory(detail::shm_min_ring);
    detail::ShmRingState state;
    detail::ShmRing ring(state, memory.data(), memory.size());
    const std::uint64_t lie = 1000;
    std::memcpy(memory.data(), &lie, sizeof(lie));
    state.head.store(16);
    std::vector<std::byte> out;
    CHECK_FALSE(ring.read(out, detail::shm_frame_limit));
}

TEST_CASE("shm links carry many odd-sized frames through a small ring", "[transport][shm]") {
    ShmName name;
    TransportOptions options;
    options.set(ShmTransport::ring_size, detail::shm_min_ring);
    auto pair = connect_pair(name.endpoint(), options);
    constexpr std::uint32_t count = 300;
    auto size_of = [](std::uint32_t i) {
        return static_cast<std::size_t>((i * 104729U + 1U) % 200003U);
    };
    auto sender = std::async(std::launch::async, [&] {
        for (std::uint32_t i = 0; i < count; ++i) pair.client->send(pattern(size_of(i), i));
    });
    auto received = receive_frames(*pair.server, count);
    REQUIRE(sender.wait_for(deadline) == std::future_status::ready);
    sender.get();
    REQUIRE(received.frames.size() == count);
    for (std::uint32_t i = 0; i < count; ++i) {
        INFO("frame " << i);
        REQUIRE(same_bytes(received.frames[i].data(), pattern(size_of(i), i)));
    }
}

TEST_CASE("a shm reader that never called receive is woken by the first frame",
          "[transport][shm]") {
    // The reactor polls a new link before it ever calls receive().
    ShmName name;
    auto pair = connect_pair(name.endpoint());
    pair.client->send(pattern(3, 1));
    REQUIRE(wait_readable(pair.server->poll_fd()));
    CHECK(receive_frames(*pair.server, 1).frames.size() == 1);
}

TEST_CASE("a polled shm link takes frames without a wake-up and signals again when polling stops",
          "[transport][shm]") {
    // An idle worker polls shm links in memory (Link::set_polled): a writer must then
    // skip its system call, and nothing may be stranded when polling stops.
    ShmName name;
    auto pair = connect_pair(name.endpoint());
    auto& reader = *pair.server;
    REQUIRE(reader.capabilities().memory_polling);
    auto signalled = [&] { return wait_readable(reader.poll_fd(), milliseconds(0)); };

    reader.set_polled(true);
    CHECK_FALSE(reader.input_pending());
    pair.client->send(pattern(5, 1));  // the writer decides to signal or not before it returns
    CHECK(reader.input_pending());
    CHECK_FALSE(signalled());
    CHECK(receive_frames(reader, 1).frames.size() == 1);
    CHECK_FALSE(reader.input_pending());

    pair.client->send(pattern(6, 2));  // still polled: no signal after a receive either
    CHECK_FALSE(signalled());
    reader.set_polled(false);  // a frame is waiting: the reactor must hear of it now
    CHECK(signalled());
    CHECK(receive_frames(reader, 1).frames.size() == 1);

    pair.client->send(pattern(7, 3));  // not polled: every first frame signals
    CHECK(wait_readable(reader.poll_fd()));
    CHECK(receive_frames(reader, 1).frames.size() == 1);
}

TEST_CASE("shm links read frames into the memory of frames given back", "[transport][shm]") {
    // What a letter does when it dies: its frame's buffer goes back to the pool, and the
    // next frames are read into it instead of into new memory.
    auto& pool = BufferPool::frames();
    empty(pool);
    ShmName name;
    auto pair = connect_pair(name.endpoint());
    constexpr std::uint32_t count = 8;
    auto send_round = [&](std::uint32_t first) {
        for (std::uint32_t i = first; i < first + count; ++i)
            pair.client->send(pattern(100, i));  // one record each (with `more` they are packed)
        return receive_frames(*pair.server, count);
    };

    auto first = send_round(0);
    REQUIRE(first.frames.size() == count);
    std::set<const std::byte*> given;
    for (auto& frame : first.frames) {
        given.insert(frame.data().data());
        pool.give(std::move(frame.bytes));
    }
    REQUIRE(given.size() == count);

    auto second = send_round(count);
    REQUIRE(second.frames.size() == count);
    for (std::uint32_t i = 0; i < count; ++i) {
        INFO("frame " << i);
        CHECK(given.count(second.frames[i].data().data()) == 1);
        CHECK(same_bytes(second.frames[i].data(), pattern(100, count + i)));
    }
    CHECK(pool.spare_bytes() == 0);
}
