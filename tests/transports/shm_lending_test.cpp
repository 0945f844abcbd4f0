// shm: links lend large records to the fragmentation layer (src/lending_link.hpp): what
// is lent, when its room is freed, and what happens when a record is wrapped, malformed
// or cut short. The reading end is a real ShmLink over a segment of the test's own, whose
// ring the test writes as the peer would, so it can see both positions and the flags.

#include "transport_fixtures.hpp"

#include "shm/shm_link.hpp"
#include "shm/shm_ring.hpp"
#include "src/fragmenting_link.hpp"
#include "src/stream_framing.hpp"

#include <courier/little_endian.hpp>

#include <boost/interprocess/anonymous_shared_memory.hpp>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <catch2/catch.hpp>

#include <array>
#include <optional>

using namespace courier;
using namespace courier::test;
using State = ReceiveStatus::State;
namespace bip = boost::interprocess;

namespace {

constexpr std::size_t capacity = std::size_t{1} << 20;
constexpr std::size_t large = detail::ShmLink::lend_above + 1;

Fd event() {
    const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    REQUIRE(fd >= 0);
    return Fd(fd);
}

bool signalled(int fd) {
    pollfd wait{fd, POLLIN, 0};
    return ::poll(&wait, 1, 0) == 1;
}

/// The reading end (side 1) of a shm: link; the test is its peer and writes ring 0.
struct Rig {
    bip::mapped_region region = bip::anonymous_shared_memory(detail::shm_segment_size(capacity));
    detail::ShmSegmentHeader* header = new (region.get_address()) detail::ShmSegmentHeader();
    detail::ShmRingState& state = header->rings[0];
    std::byte* data = static_cast<std::byte*>(region.get_address()) + sizeof(*header);  ///< ring 0
    detail::ShmRing ring{state, data, capacity};
    int room = -1;                       ///< the eventfd that wakes ring 0's writer
    std::unique_ptr<Link> control_peer;  ///< closing it is the peer going away
    detail::ShmLink* reader = nullptr;   ///< owned by `link`
    std::unique_ptr<Link> link;          ///< the ShmLink, or a FragmentingLink over it

    explicit Rig(bool fragmenting) {
        header->ring_capacity = capacity;
        header->magic = detail::ShmSegmentHeader::expected_magic;
        std::array<int, 2> ends{};
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ends.data()) ==
                0);
        control_peer = std::make_unique<detail::StreamLink>(Fd(ends[0]), Capabilities{},
                                                            TransportOptions{}, "control:peer");
        detail::ControlChannel control(std::make_unique<detail::StreamLink>(
            Fd(ends[1]), Capabilities{}, TransportOptions{}, "control:reader"));
        detail::ShmEvents events{event(), event(), event(), event()};
        room = events[1].get();
        auto shm = std::make_unique<detail::ShmLink>(std::move(control), std::move(region), 1,
                                                     std::move(events), TransportOptions{},
                                                     detail::CreatedName(), "shm:test");
        reader = shm.get();
        if (fragmenting) {  // it asks the link to lend
            link = std::make_unique<detail::FragmentingLink>(std::move(shm), TransportOptions{});
        } else {
            reader->start_lending();
            link = std::move(shm);
        }
    }

    /// Writes one record of `parts` as the peer does.
    void write(std::initializer_list<std::span<const std::byte>> parts) {
        std::size_t size = 0;
        for (const auto part : parts) size += part.size();
        REQUIRE(ring.free_space() >= detail::shm_record_size(size));
        ring.write(std::span(parts.begin(), parts.size()), size);
    }
    void write(std::span<const std::byte> bytes) { write({bytes}); }

    std::uint64_t tail() const { return state.tail.load(); }
    std::uint64_t head() const { return state.head.load(); }
};

/// A chunk of the fragmentation layer's wire format: flags, the total on a first chunk
/// of several, the payload.
std::vector<std::byte> chunk(std::uint8_t flags, std::span<const std::byte> payload,
                             std::optional<std::uint64_t> total = std::nullopt) {
    std::vector<std::byte> bytes{std::byte{flags}};
    if (total) {
        bytes.resize(detail::first_chunk_header_size);
        store_le<std::uint64_t>(bytes.data() + 1, *total);
    }
    bytes.insert(bytes.end(), payload.begin(), payload.end());
    return bytes;
}

}  // namespace

TEST_CASE("shm lends large records, frees their room as they are given back, in order",
          "[transport][shm][lending]") {
    Rig rig(false);
    const auto small = pattern(100, 1);
    const auto a = pattern(large, 2);
    const auto b = pattern(100, 3);
    const auto c = pattern(200'000, 4);
    for (const auto& bytes : {small, a, b, c}) rig.write(bytes);

    std::vector<Frame> frames;
    REQUIRE(rig.link->receive(frames).state == State::open);
    REQUIRE(frames.size() == 4);
    CHECK_FALSE(detail::LendingLink::lent(frames[0]));  // small: copied
    CHECK(detail::LendingLink::lent(frames[1]));
    CHECK_FALSE(detail::LendingLink::lent(frames[2]));
    CHECK(detail::LendingLink::lent(frames[3]));
    CHECK(same_bytes(frames[0].bytes, small));
    CHECK(same_bytes(frames[1].view, a));
    CHECK(same_bytes(frames[2].bytes, b));
    CHECK(same_bytes(frames[3].view, c));
    // The small record before the first lent one is freed; b waits behind a.
    const auto after_small = detail::shm_record_size(small.size());
    CHECK(rig.tail() == after_small);

    rig.reader->give_back(frames[1].view);
    CHECK(rig.tail() == after_small + detail::shm_record_size(a.size()));
    rig.reader->give_back(frames[3].view);  // the last lent: b's room goes with it
    CHECK(rig.tail() == rig.head());
}

TEST_CASE("the next receive takes back what a caller did not give back",
          "[transport][shm][lending]") {
    Rig rig(false);
    rig.write(pattern(large, 1));
    std::vector<Frame> frames;
    REQUIRE(rig.link->receive(frames).state == State::open);
    REQUIRE(frames.size() == 1);
    CHECK(rig.tail() == 0);
    frames.clear();
    REQUIRE(rig.link->receive(frames).state == State::open);
    CHECK(frames.empty());
    CHECK(rig.tail() == rig.head());
}

TEST_CASE("a writer waiting for room is woken when lent records are given back",
          "[transport][shm][lending]") {
    Rig rig(false);
    rig.write(pattern(large, 1));
    rig.state.writer_sleeping.store(1);  // as a writer does before it waits on `room`
    std::vector<Frame> frames;
    REQUIRE(rig.link->receive(frames).state == State::open);
    REQUIRE(frames.size() == 1);
    // Nothing freed yet: no reason to wake it.
    CHECK(rig.state.writer_sleeping.load() == 1);
    CHECK_FALSE(signalled(rig.room));
    rig.reader->give_back(frames[0].view);
    CHECK(rig.state.writer_sleeping.load() == 0);
    CHECK(signalled(rig.room));
}

TEST_CASE("a large record that wraps around the ring's end is copied, not lent",
          "[transport][shm][lending]") {
    Rig rig(false);
    // Three full records and one of 200,000 bytes leave 62,136 bytes before the end.
    std::vector<Frame> frames;
    for (const std::size_t size : {detail::shm_frame_limit, detail::shm_frame_limit,
                                   detail::shm_frame_limit, std::size_t{200'000}}) {
        rig.write(pattern(size, 0));
        frames.clear();
        REQUIRE(rig.link->receive(frames).state == State::open);
        REQUIRE(frames.size() == 1);
        rig.reader->give_back(frames[0].view);
    }
    REQUIRE(capacity - rig.head() % capacity < large);
    const auto wrapped = pattern(large, 1);
    const auto next = pattern(large, 2);  // starts in one piece again
    rig.write(wrapped);
    rig.write(next);
    frames.clear();
    REQUIRE(rig.link->receive(frames).state == State::open);
    REQUIRE(frames.size() == 2);
    CHECK_FALSE(detail::LendingLink::lent(frames[0]));
    CHECK(same_bytes(frames[0].bytes, wrapped));
    CHECK(detail::LendingLink::lent(frames[1]));
    CHECK(same_bytes(frames[1].view, next));
    rig.reader->give_back(frames[1].view);
    CHECK(rig.tail() == rig.head());
}

TEST_CASE("a malformed large record fails the shm link", "[transport][shm][lending]") {
    Rig rig(false);
    SECTION("a length beyond what was published") {
        rig.write(pattern(large, 1));
        const std::uint64_t lie = 2 * large;
        std::memcpy(rig.data, &lie, sizeof(lie));  // the record's length, at offset 0
    }
    SECTION("a length above the frame limit") {
        rig.write(pattern(large, 1));
        const std::uint64_t lie = detail::shm_frame_limit + 8;
        std::memcpy(rig.data, &lie, sizeof(lie));
    }
    std::vector<Frame> frames;
    const auto status = rig.link->receive(frames);
    CHECK(frames.empty());
    CHECK(status.state == State::failed);
    CHECK_THAT(status.reason, Catch::Contains("malformed record"));
}

TEST_CASE("lent chunks are put together, and given back, by the fragmentation layer",
          "[transport][shm][lending][fragmenting]") {
    Rig rig(true);
    const auto frame = pattern(600'000, 1);
    const std::span<const std::byte> bytes(frame);
    const auto whole = pattern(200'000, 2);
    rig.write(chunk(detail::chunk_first, bytes.first(250'000), frame.size()));
    rig.write(chunk(0, bytes.subspan(250'000, 250'000)));
    rig.write(chunk(detail::chunk_last, bytes.subspan(500'000)));  // 100,000: lent too
    rig.write(chunk(detail::chunk_first | detail::chunk_last, whole));
    std::vector<Frame> frames;
    REQUIRE(rig.link->receive(frames).state == State::open);
    REQUIRE(frames.size() == 2);
    CHECK(same_bytes(frames[0].data(), frame));
    CHECK(same_bytes(frames[1].data(), whole));
    for (const auto& received : frames) CHECK_FALSE(detail::LendingLink::lent(received));
    CHECK(frames[1].bytes.size() == whole.size());  // a buffer of its own
    CHECK(rig.tail() == rig.head());
}

TEST_CASE("a shm link closed in the middle of a fragmented frame fails, its chunks given back",
          "[transport][shm][lending][fragmenting]") {
    Rig rig(true);
    const auto frame = pattern(std::size_t{1} << 20, 1);
    rig.write(chunk(detail::chunk_first, std::span(frame).first(200'000), frame.size()));
    std::vector<Frame> frames;
    REQUIRE(rig.link->receive(frames).state == State::open);
    CHECK(frames.empty());
    CHECK(rig.tail() == rig.head());
    rig.control_peer.reset();  // the peer goes away
    const auto received = receive_until_end(*rig.link);
    CHECK(received.frames.empty());
    CHECK(received.status.state == State::failed);
    CHECK_THAT(received.status.reason, Catch::Contains("middle of a fragmented frame") &&
                                           Catch::Contains("200000 of 1048576 bytes"));
}
