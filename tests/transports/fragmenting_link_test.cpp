// The shared fragmentation layer (transports/src/fragmenting_link.hpp): frames larger
// than a mechanism's native limit, split into chunks and put together again. Tested over
// a link limited to 100 bytes a frame, and through a registry with a test-only transport
// of that limit.

#include "transport_fixtures.hpp"

#include "src/fragmenting_link.hpp"
#include "src/stream_framing.hpp"

#include <courier/posix_call.hpp>
#include <courier/transports/transport.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <thread>

using namespace courier;
using namespace courier::test;
using State = ReceiveStatus::State;

namespace {

constexpr std::size_t limit = 100;

/// A mechanism with a native frame limit, as a SysV or POSIX queue has: forwards to a
/// link, refuses to send a larger frame, and fails on receiving one.
class LimitedLink final : public Link {
  public:
    LimitedLink(std::unique_ptr<Link> inner, std::size_t frame_limit)
        : inner_(std::move(inner)), capabilities_(inner_->capabilities()) {
        capabilities_.native_frame_limit = frame_limit;
    }
    const Capabilities& capabilities() const noexcept override { return capabilities_; }
    int poll_fd() const noexcept override { return inner_->poll_fd(); }
    void send(std::span<const std::byte> bytes, std::span<const int> fds = {},
              std::uint8_t priority = 0, bool more = false) override {
        if (bytes.size() > capabilities_.native_frame_limit) {
            throw LinkError("a frame of " + std::to_string(bytes.size()) +
                            " bytes reached the limited link");
        }
        if (fail_after >= 0 && sends.load() >= fail_after) throw LinkError("injected failure");
        inner_->send(bytes, fds, priority, more);
        ++sends;
    }
    void flush() override { inner_->flush(); }
    ReceiveStatus receive(std::vector<Frame>& out) override {
        const std::size_t before = out.size();
        auto status = inner_->receive(out);
        for (std::size_t i = before; i < out.size(); ++i) {
            if (out[i].bytes.size() > capabilities_.native_frame_limit) {
                return {State::failed, "the limited link received an oversized frame"};
            }
        }
        return status;
    }
    std::string peer() const override { return inner_->peer(); }

    std::atomic<int> sends{0};  ///< frames (chunks) handed to the inner link
    int fail_after = -1;        ///< if >= 0, sends after this many throw

  private:
    std::unique_ptr<Link> inner_;
    Capabilities capabilities_;
};

/// Two ends of a socketpair as unlimited stream links (with fd passing).
std::pair<std::unique_ptr<Link>, std::unique_ptr<Link>> stream_pair() {
    std::array<int, 2> ends{};
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ends.data()) == 0);
    const Capabilities capabilities{.fd_passing = true};
    return {std::make_unique<detail::StreamLink>(Fd(ends[0]), capabilities, TransportOptions{},
                                                 "socketpair:a"),
            std::make_unique<detail::StreamLink>(Fd(ends[1]), capabilities, TransportOptions{},
                                                 "socketpair:b")};
}

/// A fragmenting link on each end of a 100-byte-limited socketpair.
struct Fragmented {
    LimitedLink* client_chunks = nullptr;  ///< the limited link under `client`
    std::unique_ptr<Link> client;
    std::unique_ptr<Link> server;

    explicit Fragmented(const TransportOptions& options = {}, std::size_t chunk_limit = limit) {
        auto [a, b] = stream_pair();
        auto limited = std::make_unique<LimitedLink>(std::move(a), chunk_limit);
        client_chunks = limited.get();
        client = std::make_unique<detail::FragmentingLink>(std::move(limited), options);
        server = std::make_unique<detail::FragmentingLink>(
            std::make_unique<LimitedLink>(std::move(b), chunk_limit), options);
    }
};

/// A fragmenting receiver and, on the other end, a raw link that forges chunks.
struct Forged {
    std::unique_ptr<Link> forger;
    std::unique_ptr<Link> receiver;

    explicit Forged(const TransportOptions& options = {}) {
        auto [a, b] = stream_pair();
        forger = std::move(a);
        receiver = std::make_unique<detail::FragmentingLink>(
            std::make_unique<LimitedLink>(std::move(b), limit), options);
    }
    void chunk(std::uint8_t flags, std::span<const std::byte> payload,
               std::optional<std::uint64_t> total = std::nullopt, std::span<const int> fds = {}) {
        std::vector<std::byte> bytes{std::byte{flags}};
        if (total) {
            for (int i = 0; i < 8; ++i) bytes.push_back(std::byte((*total >> (8 * i)) & 0xffU));
        }
        bytes.insert(bytes.end(), payload.begin(), payload.end());
        forger->send(bytes, fds);
    }
};

/// A packed chunk of `frames`, each behind its 32-bit little-endian length.
std::vector<std::byte> packed(std::initializer_list<std::vector<std::byte>> frames) {
    std::vector<std::byte> bytes{std::byte{detail::chunk_packed}};
    for (const auto& frame : frames) {
        for (int i = 0; i < 4; ++i) bytes.push_back(std::byte((frame.size() >> (8 * i)) & 0xffU));
        bytes.insert(bytes.end(), frame.begin(), frame.end());
    }
    return bytes;
}

constexpr std::uint8_t first = detail::chunk_first;
constexpr std::uint8_t last = detail::chunk_last;

}  // namespace

namespace {

/// Sends frames of `sizes` from one thread and checks they arrive whole and in order.
void round_trip(Fragmented& link, std::span<const std::size_t> sizes) {
    Sender sender(
        [&] {
            for (std::size_t i = 0; i < sizes.size(); ++i) {
                link.client->send(pattern(sizes[i], static_cast<std::uint32_t>(i)));
            }
        },
        [&] { link.server.reset(); });
    auto received = receive_frames(*link.server, sizes.size());
    INFO("status: " << received.status.reason);
    REQUIRE(received.frames.size() == sizes.size());
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        INFO("frame " << i << " of " << sizes[i] << " bytes, got "
                      << received.frames[i].data().size());
        CHECK(same_bytes(received.frames[i].data(),
                         pattern(sizes[i], static_cast<std::uint32_t>(i))));
    }
    sender.join();
    CHECK(received.status.state == State::open);
}

}  // namespace

TEST_CASE("frames of 0 B, 1 B, the limit, the limit + 1 and 1 MiB round trip in order",
          "[transport][fragmenting]") {
    Fragmented link;
    const std::array<std::size_t, 8> sizes{
        1, 0, limit - 1, limit, limit + 1, limit * 3, std::size_t{1} << 20, 1};
    round_trip(link, sizes);
}

TEST_CASE("a 64 MiB frame round trips between small ones", "[transport][fragmenting]") {
    // Over 4 KiB chunks (about SysV's msgmax): over 100-byte ones, 680,000 chunks make
    // the test slow under sanitizers without testing anything the 1 MiB frame does not.
    Fragmented link({}, 4096);
    const std::array<std::size_t, 3> sizes{1, std::size_t{64} << 20, 1};
    round_trip(link, sizes);
}

TEST_CASE("a frame takes one chunk while it fits, and chunks of at most the limit after",
          "[transport][fragmenting]") {
    Fragmented link;
    const auto chunks_for = [&](std::size_t size) {
        const int before = link.client_chunks->sends.load();
        link.client->send(pattern(size, 0));
        REQUIRE(receive_frames(*link.server, 1).frames.size() == 1);
        return link.client_chunks->sends.load() - before;
    };
    CHECK(chunks_for(0) == 1);
    CHECK(chunks_for(limit - 1) == 1);  // one flags byte in front: exactly the limit
    CHECK(chunks_for(limit) == 2);
    // 91 bytes in the first chunk (9 bytes of header), 99 in each after.
    CHECK(chunks_for(91 + 99) == 2);
    CHECK(chunks_for(91 + 99 + 1) == 3);
    CHECK(chunks_for(10'000) == 1 + static_cast<int>((10'000 - 91 + 98) / 99));
}

TEST_CASE("fragmented frames from several threads never interleave", "[transport][fragmenting]") {
    const bool more = GENERATE(false, true);  // true: small frames are packed too
    INFO("more: " << more);
    Fragmented link;
    constexpr std::uint32_t threads = 4;
    constexpr std::uint32_t per_thread = 200;
    const auto size_of = [](std::uint32_t seq) { return 8 + (seq * 7919U) % 5'000U; };
    std::vector<std::unique_ptr<Sender>> senders;
    for (std::uint32_t t = 0; t < threads; ++t) {
        senders.push_back(std::make_unique<Sender>(
            [&, t] {
                for (std::uint32_t seq = 0; seq < per_thread; ++seq) {
                    auto bytes = pattern(size_of(seq), t * 1'000'000 + seq);
                    std::memcpy(bytes.data(), &t, 4);
                    std::memcpy(bytes.data() + 4, &seq, 4);
                    link.client->send(bytes, {}, 0, more);
                }
                link.client->flush();
            },
            [&] { link.server.reset(); }));
    }
    auto received = receive_frames(*link.server, threads * per_thread);
    INFO("status: " << received.status.reason);
    REQUIRE(received.frames.size() == threads * per_thread);
    std::array<std::uint32_t, threads> next{};
    for (const auto& frame : received.frames) {
        REQUIRE(frame.data().size() >= 8);
        std::uint32_t t = 0, seq = 0;
        std::memcpy(&t, frame.data().data(), 4);
        std::memcpy(&seq, frame.data().data() + 4, 4);
        REQUIRE(t < threads);
        REQUIRE(seq == next[t]);
        ++next[t];
        auto expected = pattern(size_of(seq), t * 1'000'000 + seq);
        std::memcpy(expected.data(), &t, 4);
        std::memcpy(expected.data() + 4, &seq, 4);
        REQUIRE(same_bytes(frame.data(), expected));
    }
    for (auto& sender : senders) sender->join();
}

TEST_CASE("descriptors travel with the first chunk and arrive with their frame",
          "[transport][fragmenting]") {
    Fragmented link;
    std::array<int, 2> ends{};
    REQUIRE(::pipe2(ends.data(), O_CLOEXEC) == 0);
    Fd read_end(ends[0]), write_end(ends[1]);
    const std::array<int, 2> fds{write_end.get(), read_end.get()};
    link.client->send(pattern(1000, 1), fds);  // 11 chunks
    link.client->send(pattern(1000, 2));
    link.client->send(pattern(10, 3), std::span(fds).first(1));  // one chunk
    auto received = receive_frames(*link.server, 3);
    REQUIRE(received.frames.size() == 3);
    CHECK(same_bytes(received.frames[0].data(), pattern(1000, 1)));
    CHECK(received.frames[0].fds.size() == 2);
    CHECK(received.frames[1].fds.empty());
    CHECK(received.frames[2].fds.size() == 1);
    struct stat original {
    }, passed{};
    REQUIRE(::fstat(write_end.get(), &original) == 0);
    REQUIRE(::fstat(received.frames[2].fds[0].get(), &passed) == 0);
    CHECK(passed.st_ino == original.st_ino);
}

TEST_CASE("the limits of the upper layer hold over a fragmenting link",
          "[transport][fragmenting]") {
    TransportOptions options;
    options.max_frame_size = 1000;
    Fragmented link(options);
    SECTION("a frame above max_frame_size throws, sends nothing, and the link goes on") {
        CHECK_THROWS_WITH(link.client->send(pattern(1001, 0)),
                          Catch::Contains("1001") && Catch::Contains("limit"));
        CHECK(link.client_chunks->sends.load() == 0);
        link.client->send(pattern(1000, 1));
        auto received = receive_frames(*link.server, 1);
        REQUIRE(received.frames.size() == 1);
        CHECK(same_bytes(received.frames[0].data(), pattern(1000, 1)));
    }
    SECTION("a send cut off after its first chunk breaks the link for good") {
        link.client_chunks->fail_after = 1;
        CHECK_THROWS_WITH(link.client->send(pattern(500, 0)), Catch::Contains("injected"));
        link.client_chunks->fail_after = -1;
        CHECK_THROWS_WITH(link.client->send(pattern(1, 0)), Catch::Contains("broken"));
    }
    SECTION("a send refused before any chunk leaves the link usable") {
        link.client_chunks->fail_after = 0;
        CHECK_THROWS_WITH(link.client->send(pattern(500, 0)), Catch::Contains("injected"));
        link.client_chunks->fail_after = -1;
        link.client->send(pattern(500, 1));
        CHECK(receive_frames(*link.server, 1).frames.size() == 1);
    }
}

TEST_CASE("a link too small to hold a chunk header is refused", "[transport][fragmenting]") {
    auto [a, b] = stream_pair();
    CHECK_THROWS_AS(detail::FragmentingLink(std::make_unique<LimitedLink>(std::move(a), 9), {}),
                    std::invalid_argument);
    CHECK_NOTHROW(detail::FragmentingLink(std::make_unique<LimitedLink>(std::move(b), 10), {}));
}

TEST_CASE("malformed chunk sequences fail the link with a reason", "[transport][fragmenting]") {
    TransportOptions options;
    options.max_frame_size = 10'000;
    Forged link(options);
    const auto bytes = pattern(90, 0);
    std::string expected;
    // A valid frame first: what came before a violation is still delivered.
    link.chunk(first | last, std::span(bytes).first(5));

    SECTION("an empty chunk") {
        link.forger->send({});
        expected = "empty chunk";
    }
    SECTION("unknown flags") {
        link.chunk(0x80 | first | last, bytes);
        expected = "unknown flags 0x83";
    }
    SECTION("a continuation with no frame begun") {
        link.chunk(last, bytes);
        expected = "no frame begun";
    }
    SECTION("a new frame before the last chunk of the previous one") {
        link.chunk(first, bytes, 500);
        link.chunk(first | last, bytes);
        expected = "new frame began after 90 of 500 bytes";
    }
    SECTION("a total above max_frame_size, refused before any allocation") {
        link.chunk(first, bytes, std::uint64_t{1} << 62);
        expected = "4611686018427387904 bytes, above the limit of 10000";
    }
    SECTION("a whole frame above max_frame_size") {
        options.max_frame_size = 50;
        Forged small(options);
        small.chunk(first | last, std::span(bytes).first(51));
        auto received = receive_until_end(*small.receiver);
        REQUIRE(received.status.state == State::failed);
        CHECK_THAT(received.status.reason, Catch::Contains("51 bytes, above the limit of 50"));
        expected = "unknown flags";  // the outer link: make it fail too
        link.chunk(0x40, bytes);
    }
    SECTION("a first chunk that already holds the whole announced frame") {
        link.chunk(first, bytes, 90);
        expected = "first chunk already holds 90";
    }
    SECTION("a first chunk too short for its length") {
        link.chunk(first, std::span(bytes).first(3));
        expected = "too short";
    }
    SECTION("more bytes than announced") {
        link.chunk(first, bytes, 150);
        link.chunk(0, bytes);
        expected = "more than the frame announced";
    }
    SECTION("a last chunk before the announced length") {
        link.chunk(first, bytes, 500);
        link.chunk(last, bytes);
        expected = "last chunk came after 180 of 500 bytes";
    }
    SECTION("the announced length reached without a last chunk") {
        link.chunk(first, bytes, 180);
        link.chunk(0, bytes);
        expected = "not marked last";
    }
    SECTION("an empty continuation chunk") {
        link.chunk(first, bytes, 500);
        link.chunk(0, {});
        expected = "empty continuation";
    }
    SECTION("descriptors on a later chunk") {
        const std::array<int, 1> fds{0};
        link.chunk(first, bytes, 500);
        link.chunk(0, bytes, std::nullopt, fds);
        expected = "file descriptors on a chunk other than a frame's first";
    }
    SECTION("a chunk above the native limit") {
        link.chunk(first | last, pattern(limit, 0));
        expected = "a chunk of 101 bytes, above the native limit of 100";
    }
    SECTION("the peer closing in the middle of a fragmented frame") {
        link.chunk(first, bytes, 500);
        link.forger.reset();
        expected = "middle of a fragmented frame (got 90 of 500 bytes)";
    }
    SECTION("an empty packed chunk") {
        link.forger->send(packed({}));
        expected = "empty packed chunk";
    }
    SECTION("a packed chunk also flagged first or last") {
        auto pack = packed({pattern(5, 1)});
        pack[0] |= std::byte{first | last};
        link.forger->send(pack);
        expected = "packed chunk also flagged first or last 0x07";
    }
    SECTION("a packed chunk cut in a frame's length") {
        auto pack = packed({pattern(5, 1), pattern(5, 2)});
        pack.resize(pack.size() - 5 - 2);  // the second frame: 2 of its 4 length bytes
        link.forger->send(pack);
        expected = "frame 2 of a packed chunk has 2 bytes, too few for its length";
    }
    SECTION("a packed frame longer than what is left of its chunk") {
        auto pack = packed({pattern(5, 1), pattern(20, 2)});
        pack.resize(pack.size() - 1);
        link.forger->send(pack);
        expected = "frame 2 of a packed chunk announced 20 bytes but only 19 are left";
    }
    SECTION("a packed frame with a huge length") {
        auto pack = packed({pattern(5, 1)});
        for (std::size_t i = 1; i <= 4; ++i) pack[i] = std::byte{0xff};
        link.forger->send(pack);
        expected = "frame 1 of a packed chunk announced 4294967295 bytes but only 5 are left";
    }
    SECTION("a packed frame above max_frame_size") {
        options.max_frame_size = 50;
        Forged small(options);
        small.forger->send(packed({pattern(10, 1), pattern(51, 2)}));
        auto received = receive_until_end(*small.receiver);
        CHECK(received.frames.empty());  // not even the valid frame before it
        REQUIRE(received.status.state == State::failed);
        CHECK_THAT(
            received.status.reason,
            Catch::Contains("frame 2 of a packed chunk has 51 bytes, above the limit of 50"));
        expected = "unknown flags";  // the outer link: make it fail too
        link.chunk(0x40, bytes);
    }
    SECTION("a packed chunk in the middle of a fragmented frame") {
        link.chunk(first, bytes, 500);
        link.forger->send(packed({pattern(5, 1)}));
        expected = "packed chunk came after 90 of 500 bytes of a fragmented frame (priority 0)";
    }
    SECTION("descriptors on a packed chunk") {
        const std::array<int, 1> fds{0};
        link.forger->send(packed({pattern(5, 1)}), fds);
        expected = "file descriptors on a packed chunk";
    }

    // Nothing after a violation is delivered, not even a valid frame.
    if (link.forger) link.forger->send(packed({pattern(5, 3), pattern(6, 4)}));
    auto received = receive_until_end(*link.receiver);
    REQUIRE(received.frames.size() == 1);
    CHECK(same_bytes(received.frames[0].data(), std::vector(bytes.begin(), bytes.begin() + 5)));
    REQUIRE(received.status.state == State::failed);
    CHECK_THAT(received.status.reason, Catch::Contains(expected));
    std::vector<Frame> more;
    CHECK(link.receiver->receive(more).state == State::failed);  // and stays failed
    CHECK(more.empty());
}

TEST_CASE("a clean close between frames is reported closed", "[transport][fragmenting]") {
    Fragmented link;
    link.client->send(pattern(500, 0));
    link.client.reset();
    auto received = receive_until_end(*link.server);
    CHECK(received.frames.size() == 1);
    CHECK(received.status.state == State::closed);
}

// --- packing small frames sent with `more` ---------------------------------------------

namespace {

/// What one receive finds at once (the test links deliver what was sent, no waiting).
std::vector<Frame> receive_now(Link& link) {
    std::vector<Frame> frames;
    REQUIRE(link.receive(frames).state == State::open);
    return frames;
}

}  // namespace

TEST_CASE("small frames sent with more are kept, then go in one chunk at flush()",
          "[transport][fragmenting][packing]") {
    Fragmented link;
    // 1 byte of flags, then 4 of length before each frame: 1 + 4 + 20 + 4 + 30 + 4 = 63.
    const std::array<std::size_t, 3> sizes{0, 20, 30};
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        link.client->send(pattern(sizes[i], static_cast<std::uint32_t>(i)), {}, 0, true);
    }
    CHECK(link.client_chunks->sends.load() == 0);  // the mechanism has nothing yet
    CHECK(receive_now(*link.server).empty());

    link.client->flush();
    CHECK(link.client_chunks->sends.load() == 1);
    auto received = receive_frames(*link.server, sizes.size());
    REQUIRE(received.frames.size() == sizes.size());
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        CHECK(same_bytes(received.frames[i].data(),
                         pattern(sizes[i], static_cast<std::uint32_t>(i))));
        CHECK(received.frames[i].priority == 0);
    }
    link.client->flush();  // nothing kept: nothing sent
    CHECK(link.client_chunks->sends.load() == 1);
}

TEST_CASE("a pack holds as many frames as fit in one chunk", "[transport][fragmenting][packing]") {
    Fragmented link;
    // 1 + 2 * (4 + 30) = 69 bytes; a third frame would make 103, above the limit of 100.
    constexpr std::uint32_t count = 1000;
    for (std::uint32_t i = 0; i < count; ++i) link.client->send(pattern(30, i), {}, 0, true);
    link.client->flush();
    CHECK(link.client_chunks->sends.load() == count / 2);
    auto received = receive_frames(*link.server, count);
    REQUIRE(received.frames.size() == count);
    for (std::uint32_t i = 0; i < count; ++i) {
        REQUIRE(same_bytes(received.frames[i].data(), pattern(30, i)));
    }
}

TEST_CASE("the frames of a pack view the chunk they share, and a large whole frame is not moved",
          "[transport][fragmenting][packing]") {
    Fragmented link;
    link.client->send(pattern(20, 1), {}, 0, true);
    link.client->send(pattern(30, 2), {}, 0, true);
    link.client->flush();
    auto received = receive_frames(*link.server, 2);
    REQUIRE(received.frames.size() == 2);
    const Frame& first = received.frames[0];
    const Frame& second = received.frames[1];
    CHECK(first.bytes.empty());  // no buffer of its own
    REQUIRE(first.shared);
    CHECK(first.shared.use_count() == 2);
    // Both lie in the chunk, one after the other: flags byte, length, frame, length, frame.
    CHECK(first.data().data() == first.shared.bytes().data() + 1 + 4);
    CHECK(second.data().data() == first.data().data() + 20 + 4);
    CHECK(same_bytes(first.data(), pattern(20, 1)));
    CHECK(same_bytes(second.data(), pattern(30, 2)));

    // A pack that holds one frame when it goes is sent as that frame's whole chunk.
    link.client->send(pattern(40, 5), {}, 0, true);
    link.client->flush();
    received = receive_frames(*link.server, 1);
    REQUIRE(received.frames.size() == 1);
    CHECK_FALSE(received.frames[0].shared);
    CHECK(same_bytes(received.frames[0].bytes, pattern(40, 5)));

    // A small whole frame gets a buffer of its own (its header byte moved out); a frame of
    // a kilobyte or more views its chunk past the header byte.
    // (One at a time: the stream under the test's links gives a chunk read alone a buffer
    // of its own.)
    Fragmented wide({}, 4096);
    wide.client->send(pattern(50, 3));
    received = receive_frames(*wide.server, 1);
    REQUIRE(received.frames.size() == 1);
    CHECK_FALSE(received.frames[0].shared);
    CHECK(same_bytes(received.frames[0].bytes, pattern(50, 3)));
    wide.client->send(pattern(2000, 4));
    received = receive_frames(*wide.server, 1);
    REQUIRE(received.frames.size() == 1);
    REQUIRE(received.frames[0].shared);
    CHECK(received.frames[0].data().data() == received.frames[0].shared.bytes().data() + 1);
    CHECK(same_bytes(received.frames[0].data(), pattern(2000, 4)));
}

TEST_CASE("a send without more takes the kept frames along, in its chunk when it fits",
          "[transport][fragmenting][packing]") {
    Fragmented link;
    link.client->send(pattern(20, 1), {}, 0, true);
    link.client->send(pattern(30, 2));
    CHECK(link.client_chunks->sends.load() == 1);
    auto received = receive_frames(*link.server, 2);  // no flush()
    REQUIRE(received.frames.size() == 2);
    CHECK(same_bytes(received.frames[0].data(), pattern(20, 1)));
    CHECK(same_bytes(received.frames[1].data(), pattern(30, 2)));

    link.client->send(pattern(20, 3), {}, 0, true);
    link.client->send(pattern(96, 4));  // too large for a pack: the pack, then the frame
    CHECK(link.client_chunks->sends.load() == 3);
    received = receive_frames(*link.server, 2);
    REQUIRE(received.frames.size() == 2);
    CHECK(same_bytes(received.frames[0].data(), pattern(20, 3)));
    CHECK(same_bytes(received.frames[1].data(), pattern(96, 4)));
}

TEST_CASE("kept frames go before the next frame that cannot join them",
          "[transport][fragmenting][packing]") {
    Fragmented link;
    std::vector<std::vector<std::byte>> sent;
    std::vector<std::size_t> sent_fds;
    const auto send = [&](std::size_t size, bool more, std::span<const int> fds = {}) {
        sent.push_back(pattern(size, static_cast<std::uint32_t>(sent.size())));
        sent_fds.push_back(fds.size());
        link.client->send(sent.back(), fds, 0, more);
        return link.client_chunks->sends.load();
    };
    std::array<int, 2> ends{};
    REQUIRE(::pipe2(ends.data(), O_CLOEXEC) == 0);
    Fd read_end(ends[0]), write_end(ends[1]);
    const std::array<int, 1> fds{write_end.get()};

    SECTION("a frame that does not fit in what is left of the pack starts a new one") {
        send(40, true);
        CHECK(send(40, true) == 0);  // 89 bytes
        CHECK(send(40, true) == 1);  // the first pack went
        link.client->flush();
        CHECK(link.client_chunks->sends.load() == 2);
    }
    SECTION("a frame too large for any pack goes alone, after the pack") {
        send(20, true);
        CHECK(send(96, true) == 2);  // 1 + 4 + 96 > 100: the pack, then one plain chunk
        CHECK(send(300, false) == 2 + 4);
    }
    SECTION("a frame with descriptors is never packed and goes after the pack") {
        send(20, true);
        CHECK(send(10, true, fds) == 2);
        CHECK(send(10, true) == 2);
    }
    link.client->flush();

    auto received = receive_frames(*link.server, sent.size());
    REQUIRE(received.frames.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
        INFO("frame " << i);
        CHECK(same_bytes(received.frames[i].data(), sent[i]));
        CHECK(received.frames[i].fds.size() == sent_fds[i]);
    }
}

TEST_CASE("flush() also hands over what the inner link keeps",
          "[transport][fragmenting][packing]") {
    Fragmented link;
    link.client->send(pattern(300, 1), {}, 0, true);  // 4 plain chunks, kept by the stream link
    CHECK(receive_now(*link.server).empty());
    link.client->flush();
    auto received = receive_frames(*link.server, 1);
    REQUIRE(received.frames.size() == 1);
    CHECK(same_bytes(received.frames[0].data(), pattern(300, 1)));
}

TEST_CASE("a pack the mechanism refuses loses its frames and breaks the link",
          "[transport][fragmenting][packing]") {
    Fragmented link;
    link.client->send(pattern(40, 1), {}, 0, true);
    link.client->send(pattern(40, 2), {}, 0, true);
    link.client_chunks->fail_after = 0;
    SECTION("thrown by flush()") {
        CHECK_THROWS_WITH(link.client->flush(), Catch::Contains("injected"));
    }
    SECTION("thrown by the send it had to make room for") {
        CHECK_THROWS_WITH(link.client->send(pattern(40, 3), {}, 0, true),
                          Catch::Contains("injected"));
    }
    SECTION("thrown by a send without more") {
        CHECK_THROWS_WITH(link.client->send(pattern(1, 3)), Catch::Contains("injected"));
    }
    link.client_chunks->fail_after = -1;
    CHECK_THROWS_WITH(link.client->send(pattern(1, 4)),
                      Catch::Contains("link is broken") && Catch::Contains("injected"));
    CHECK_THROWS_AS(link.client->send(pattern(1, 4), {}, 0, true), LinkError);
    link.client->flush();  // nothing kept any more
    CHECK(link.client_chunks->sends.load() == 0);
    CHECK(receive_now(*link.server).empty());
}

// --- applied by the registry ---------------------------------------------------------

namespace {

/// Options the test transport's last listen/connect was given.
std::atomic<std::size_t> seen_max_frame_size{0};

/// A listener whose links are limited to `limit` bytes a frame.
class LimitedListener final : public Listener {
  public:
    explicit LimitedListener(std::unique_ptr<Listener> inner) : inner_(std::move(inner)) {}
    const Endpoint& endpoint() const noexcept override { return inner_->endpoint(); }
    int poll_fd() const noexcept override { return inner_->poll_fd(); }
    std::unique_ptr<Link> accept() override {
        auto link = inner_->accept();
        if (!link) return nullptr;
        return std::make_unique<LimitedLink>(std::move(link), limit);
    }

  private:
    std::unique_ptr<Listener> inner_;
};

/// A test-only transport with a 100-byte native limit: unix: sockets underneath.
struct TinyTransport {
    static constexpr std::string_view scheme = "tiny";
    static constexpr int preference_rank = 100;
    static Capabilities capabilities() {
        return Capabilities{.native_frame_limit = limit, .fd_passing = true};
    }
    static Endpoint as_unix(const Endpoint& endpoint) { return {"unix", endpoint.address}; }
    static std::unique_ptr<Listener> listen(const Endpoint& endpoint,
                                            const TransportOptions& options) {
        seen_max_frame_size = options.max_frame_size;
        return std::make_unique<LimitedListener>(
            TransportRegistry::builtin().listen(as_unix(endpoint), options));
    }
    static std::unique_ptr<Link> connect(const Endpoint& endpoint,
                                         const TransportOptions& options) {
        seen_max_frame_size = options.max_frame_size;
        return std::make_unique<LimitedLink>(
            TransportRegistry::builtin().connect(as_unix(endpoint), options), limit);
    }
};

}  // namespace

TEST_CASE("the registry fragments every link of a transport with a frame limit",
          "[transport][fragmenting][registry]") {
    TransportRegistry registry;
    registry.add<TinyTransport>();
    Endpoint endpoint{"tiny", unix_abstract_endpoint().address};

    seen_max_frame_size = 0;
    auto listener = registry.listen(endpoint);
    CHECK(seen_max_frame_size == limit);  // the transport itself only ever sees chunks
    seen_max_frame_size = 0;
    auto client = registry.connect(endpoint);
    CHECK(seen_max_frame_size == limit);
    auto server = accept_one(*listener);
    CHECK(client->capabilities().native_frame_limit == limit);
    CHECK(server->capabilities().native_frame_limit == limit);

    const auto big = pattern(std::size_t{1} << 20, 9);
    Sender up([&] { client->send(big); }, [&] { server.reset(); });
    Sender down([&] { server->send(big); }, [&] { client.reset(); });
    auto at_server = receive_frames(*server, 1);
    auto at_client = receive_frames(*client, 1);
    up.join();
    down.join();
    REQUIRE(at_server.frames.size() == 1);
    REQUIRE(at_client.frames.size() == 1);
    CHECK(same_bytes(at_server.frames[0].data(), big));
    CHECK(same_bytes(at_client.frames[0].data(), big));
}

namespace {

/// One end of an in-memory mechanism with priorities, as a SysV or POSIX queue has:
/// frames of 100 bytes at most, delivered most urgent first and in order within one
/// priority, `batch` at a time, so a test decides when each chunk is taken.
class LaneLink final : public Link {
  public:
    using Queue = std::deque<Frame>;
    LaneLink(std::shared_ptr<Queue> out, std::shared_ptr<Queue> in)
        : out_(std::move(out)), in_(std::move(in)) {}

    const Capabilities& capabilities() const noexcept override { return capabilities_; }
    int poll_fd() const noexcept override { return -1; }
    void send(std::span<const std::byte> bytes, std::span<const int> = {},
              std::uint8_t priority = 0, bool = false) override {
        Frame frame;
        frame.bytes.assign(bytes.begin(), bytes.end());
        frame.priority = priority;
        // After every queued frame of its priority or higher.
        auto at = std::find_if(out_->rbegin(), out_->rend(), [&](const Frame& f) {
                      return f.priority >= priority;
                  }).base();
        out_->insert(at, std::move(frame));
    }
    ReceiveStatus receive(std::vector<Frame>& out) override {
        for (std::size_t i = 0; i < batch && !in_->empty(); ++i) {
            out.push_back(std::move(in_->front()));
            in_->pop_front();
        }
        return {};
    }
    std::string peer() const override { return "lanes"; }

    std::size_t batch = SIZE_MAX;

  private:
    Capabilities capabilities_{.native_frame_limit = limit, .priorities = true};
    std::shared_ptr<Queue> out_;
    std::shared_ptr<Queue> in_;
};

}  // namespace

TEST_CASE("frames of different priorities are put together per priority",
          "[transport][fragmenting][priority]") {
    auto up = std::make_shared<LaneLink::Queue>();
    auto down = std::make_shared<LaneLink::Queue>();
    detail::FragmentingLink client(std::make_unique<LaneLink>(up, down), {});
    auto lanes = std::make_unique<LaneLink>(down, up);
    LaneLink& server_lanes = *lanes;
    detail::FragmentingLink server(std::move(lanes), {});

    const auto normal = pattern(350, 1);  // 4 chunks
    const auto urgent = pattern(250, 2);  // 3 chunks
    const auto tiny = pattern(10, 3);     // 1 chunk
    client.send(normal);
    server_lanes.batch = 1;
    std::vector<Frame> frames;
    REQUIRE(server.receive(frames).state == State::open);  // the normal frame's first chunk
    CHECK(frames.empty());

    // The rest of the normal frame is queued; the urgent one's chunks overtake it.
    client.send(urgent, {}, 200);
    client.send(tiny, {}, 7);
    server_lanes.batch = SIZE_MAX;
    REQUIRE(server.receive(frames).state == State::open);
    REQUIRE(frames.size() == 3);
    CHECK(same_bytes(frames[0].data(), urgent));
    CHECK(frames[0].priority == 200);
    CHECK(same_bytes(frames[1].data(), tiny));
    CHECK(frames[1].priority == 7);
    CHECK(same_bytes(frames[2].data(), normal));
    CHECK(frames[2].priority == 0);
}

TEST_CASE("within one priority a new frame before the last chunk is still a violation",
          "[transport][fragmenting][priority]") {
    auto up = std::make_shared<LaneLink::Queue>();
    auto down = std::make_shared<LaneLink::Queue>();
    LaneLink forger(up, down);
    detail::FragmentingLink receiver(std::make_unique<LaneLink>(down, up), {});
    std::vector<std::byte> chunk{std::byte{first}};
    for (int i = 0; i < 8; ++i) chunk.push_back(i == 0 ? std::byte{200} : std::byte{0});  // 200
    chunk.resize(50, std::byte{1});
    forger.send(chunk, {}, 5);
    forger.send(std::vector<std::byte>{std::byte{first | last}, std::byte{1}}, {},
                9);  // other lane
    forger.send(std::vector<std::byte>{std::byte{first | last}, std::byte{1}}, {}, 5);  // same lane
    std::vector<Frame> frames;
    const auto status = receiver.receive(frames);
    REQUIRE(frames.size() == 1);  // priority 9's frame is fine
    CHECK(frames[0].priority == 9);
    REQUIRE(status.state == State::failed);
    CHECK_THAT(status.reason, Catch::Contains("new frame began after 41 of 200 bytes") &&
                                  Catch::Contains("priority 5"));
}

TEST_CASE("packs hold frames of one priority: each priority keeps its order",
          "[transport][fragmenting][priority][packing]") {
    auto up = std::make_shared<LaneLink::Queue>();
    auto down = std::make_shared<LaneLink::Queue>();
    detail::FragmentingLink client(std::make_unique<LaneLink>(up, down), {});
    detail::FragmentingLink server(std::make_unique<LaneLink>(down, up), {});

    const std::array<std::uint8_t, 5> priorities{0, 0, 5, 0, 5};
    for (std::size_t i = 0; i < priorities.size(); ++i) {
        client.send(pattern(10, static_cast<std::uint32_t>(i)), {}, priorities[i], true);
    }
    CHECK(up->size() == 3);  // a pack goes when a frame of another priority comes
    client.flush();
    CHECK(up->size() == 4);

    std::vector<Frame> frames;
    REQUIRE(server.receive(frames).state == State::open);
    // Priority 5 first (the mechanism's order), each priority in send order.
    const std::array<std::size_t, 5> expected{2, 4, 0, 1, 3};
    REQUIRE(frames.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO("position " << i);
        CHECK(same_bytes(frames[i].data(), pattern(10, static_cast<std::uint32_t>(expected[i]))));
        CHECK(frames[i].priority == priorities[expected[i]]);
    }
}
