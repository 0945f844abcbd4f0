// What posixmq: promises beyond the conformance suite: its queues exist only while a
// link is being set up, and the limits in force are the kernel's
// (docs/transports/posixmq.md). A killed peer is in the conformance suite.

#include "transport_fixtures.hpp"

#include <courier/transports/owner.hpp>

#include "posixmq/posixmq_transport.hpp"

#include <courier/transports/transport.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <future>
#include <optional>
#include <span>
#include <string>
#include <system_error>

using namespace courier;
using namespace courier::test;
using State = ReceiveStatus::State;

namespace {

const TransportRegistry& registry() {
    return TransportRegistry::builtin();
}

/// The queues named after `endpoint` that exist now. Lists /dev/mqueue where it is
/// mounted; otherwise asks mq_open for every name a listener in `owner` may have made
/// (counter up to 5000), since a queue cannot be listed without the mount.
std::vector<std::string> queues_of(const Endpoint& endpoint, const Owner& owner) {
    std::vector<std::string> found;
    const std::string prefix = endpoint.address + ".";
    struct statfs fs {};
    constexpr long mqueue_magic = 0x19800202;
    if (::statfs("/dev/mqueue", &fs) == 0 && static_cast<long>(fs.f_type) == mqueue_magic) {
        if (DIR* dir = ::opendir("/dev/mqueue")) {
            while (const dirent* entry = ::readdir(dir)) {
                const std::string name = std::string("/") + entry->d_name;
                if (name.starts_with(prefix)) found.push_back(name);
            }
            ::closedir(dir);
        }
        return found;
    }
    for (unsigned n = 1; n <= 5000; ++n) {
        for (const char* suffix : {".up", ".down"}) {
            const std::string name = owned_name(endpoint.address, owner, n) + suffix;
            const mqd_t q = ::mq_open(name.c_str(), O_RDONLY);
            if (q != static_cast<mqd_t>(-1)) {
                ::mq_close(q);
                found.push_back(name);
            } else {
                REQUIRE(errno == ENOENT);
            }
        }
    }
    return found;
}

long proc_value(const char* path) {
    std::ifstream file(path);
    long value = -1;
    file >> value;
    return value;
}

}  // namespace

TEST_CASE("a posixmq link leaves no queue behind, open or closed", "[transport][posixmq]") {
    const Endpoint endpoint = posixmq_endpoint();
    auto pair = connect_pair(endpoint);
    CHECK(queues_of(endpoint, Owner::self()).empty());  // made, opened and unlinked at setup

    pair.client->send(pattern(100, 1));
    pair.server->send(pattern(200, 2));
    CHECK(receive_frames(*pair.server, 1).frames.size() == 1);
    CHECK(receive_frames(*pair.client, 1).frames.size() == 1);
    CHECK_THAT(pair.server->peer(), Catch::StartsWith(endpoint.to_string()) &&
                                        Catch::Contains("pid " + std::to_string(::getpid())));

    pair.client.reset();
    CHECK(receive_until_end(*pair.server).status.state == State::closed);
    pair.server.reset();
    pair.listener.reset();
    CHECK(queues_of(endpoint, Owner::self()).empty());
}

TEST_CASE("posixmq reports the kernel's queue limits and frames by mq_msgsize",
          "[transport][posixmq]") {
    const auto& limits = PosixMqLimits::system();
    CHECK(limits.msgsize_max == proc_value("/proc/sys/fs/mqueue/msgsize_max"));
    CHECK(limits.msg_max == proc_value("/proc/sys/fs/mqueue/msg_max"));
    CHECK(limits.queues_max == proc_value("/proc/sys/fs/mqueue/queues_max"));
    CHECK(limits.msgsize <= limits.msgsize_max);
    CHECK(limits.maxmsg <= limits.msg_max);
    CHECK_THAT(limits.describe(),
               Catch::Contains("fs.mqueue.msgsize_max") && Catch::Contains("RLIMIT_MSGQUEUE"));
    const auto msgsize = static_cast<std::size_t>(limits.msgsize);
    CHECK(PosixMqTransport::capabilities().native_frame_limit == msgsize);
    CHECK(registry().find("posixmq")->capabilities.native_frame_limit == msgsize);

    SECTION("the transport alone carries up to mq_msgsize and refuses more") {
        auto listener = PosixMqTransport::listen(posixmq_endpoint(), {});
        // connect() waits for the setup frame that accept() sends: run it beside us.
        auto connecting = std::async(std::launch::async, [&] {
            return PosixMqTransport::connect(listener->endpoint(), {});
        });
        auto server = accept_one(*listener);
        REQUIRE(connecting.wait_for(deadline) == std::future_status::ready);
        auto client = connecting.get();
        CHECK(client->capabilities().native_frame_limit == msgsize);
        CHECK_THROWS_WITH(client->send(pattern(msgsize + 1, 1)), Catch::Contains("mq_msgsize"));
        client->send(pattern(msgsize, 2));
        auto received = receive_frames(*server, 1);
        REQUIRE(received.frames.size() == 1);
        CHECK(same_bytes(received.frames[0].data(), pattern(msgsize, 2)));
    }
    SECTION("through the registry, larger frames are fragmented and arrive whole") {
        auto pair = connect_pair(posixmq_endpoint());
        const auto big = pattern(msgsize * 5 + 17, 3);
        auto writer = std::async(std::launch::async, [&] { pair.client->send(big); });
        auto received = receive_frames(*pair.server, 1);
        REQUIRE(writer.wait_for(deadline) == std::future_status::ready);
        writer.get();
        REQUIRE(received.frames.size() == 1);
        CHECK(same_bytes(received.frames[0].data(), big));
    }
}

TEST_CASE("posixmq options lower the queue size, and the limits in force name a refusal",
          "[transport][posixmq]") {
    SECTION("a smaller mq_msgsize and mq_maxmsg") {
        TransportOptions options;
        options.set(PosixMqTransport::message_size, 256).set(PosixMqTransport::max_messages, 1);
        auto pair = connect_pair(posixmq_endpoint(), options);
        CHECK(pair.client->capabilities().native_frame_limit == 256);
        CHECK(pair.server->capabilities().native_frame_limit == 256);
        constexpr std::uint32_t count = 50;
        auto writer = std::async(std::launch::async, [&] {
            for (std::uint32_t i = 0; i < count; ++i) pair.client->send(pattern(1000 + i, i));
        });
        auto received = receive_frames(*pair.server, count);
        REQUIRE(writer.wait_for(deadline) == std::future_status::ready);
        writer.get();
        REQUIRE(received.frames.size() == count);
        for (std::uint32_t i = 0; i < count; ++i) {
            CHECK(same_bytes(received.frames[i].data(), pattern(1000 + i, i)));
        }
    }
    SECTION("more messages than the system allows") {
        TransportOptions options;
        options.set(PosixMqTransport::max_messages, 1L << 30);  // above HARD_MSGMAX, even for root
        auto listener = registry().listen(posixmq_endpoint(), options);
        // The listener logs the failed setup and drops the connector, which then fails.
        auto connecting = std::async(std::launch::async,
                                     [&] { return registry().connect(listener->endpoint()); });
        const auto until = Clock::now() + deadline;
        while (connecting.wait_for(std::chrono::milliseconds(10)) != std::future_status::ready &&
               Clock::now() < until) {
            CHECK(listener->accept() == nullptr);
        }
        REQUIRE(connecting.wait_for(deadline) == std::future_status::ready);
        CHECK_THROWS_AS(connecting.get(), LinkError);
    }
}

TEST_CASE("malformed posixmq names are refused", "[transport][posixmq]") {
    for (const char* name : {"noslash", "/", "/a/b", "/sp ace", "/\xc3\xa9"}) {
        INFO(name);
        CHECK_THROWS_AS(registry().listen(Endpoint{"posixmq", name}), std::invalid_argument);
    }
    CHECK_THROWS_AS(registry().listen(Endpoint{"posixmq", "/" + std::string(200, 'a')}),
                    std::invalid_argument);
    CHECK_THROWS_AS(registry().connect(posixmq_endpoint()), std::system_error);  // nobody there
}

TEST_CASE("posixmq delivers an urgent frame before the queued ones, each priority in order",
          "[transport][posixmq][priority]") {
    auto pair = connect_pair(posixmq_endpoint());
    REQUIRE(pair.client->capabilities().priorities);
    const auto room = static_cast<std::uint32_t>(PosixMqLimits::system().maxmsg);
    REQUIRE(room >= 4);
    // The reader does not read; everything fits in the queue, so nothing blocks.
    const std::uint32_t backlog = room - 2;
    for (std::uint32_t i = 0; i < backlog; ++i) pair.client->send(pattern(16, i));
    pair.client->send(pattern(16, 1000), {}, 9);
    pair.client->send(pattern(16, 1001), {}, 255);

    auto received = receive_frames(*pair.server, backlog + 2);
    REQUIRE(received.frames.size() == backlog + 2);
    CHECK(same_bytes(received.frames[0].data(), pattern(16, 1001)));
    CHECK(received.frames[0].priority == 255);
    CHECK(same_bytes(received.frames[1].data(), pattern(16, 1000)));
    CHECK(received.frames[1].priority == 9);
    for (std::uint32_t i = 0; i < backlog; ++i) {
        CHECK(same_bytes(received.frames[2 + i].data(), pattern(16, i)));
        CHECK(received.frames[2 + i].priority == 0);
    }
}

TEST_CASE("posixmq puts fragmented frames of two priorities together again",
          "[transport][posixmq][priority]") {
    auto pair = connect_pair(posixmq_endpoint());
    const std::size_t limit = pair.client->capabilities().native_frame_limit;
    const auto room = static_cast<std::size_t>(PosixMqLimits::system().maxmsg);
    // Larger than the queue holds: the sender waits while the reader takes chunks, so
    // the urgent frame's chunks can overtake the rest of the normal one.
    const std::size_t big = (room + 3) * limit;
    Sender sender(
        [&] {
            pair.client->send(pattern(big, 1));
            pair.client->send(pattern(2 * limit + 5, 2), {}, 100);
        },
        [&] { pair.server.reset(); });
    auto received = receive_frames(*pair.server, 2);
    sender.join();
    REQUIRE(received.frames.size() == 2);
    for (const auto& frame : received.frames) {
        if (frame.priority == 100) {
            CHECK(same_bytes(frame.data(), pattern(2 * limit + 5, 2)));
        } else {
            CHECK(frame.priority == 0);
            CHECK(same_bytes(frame.data(), pattern(big, 1)));
        }
    }
    CHECK(received.frames[0].priority != received.frames[1].priority);
}

namespace {

/// A registry listener (its links reassemble chunks) and a bare posixmq link connected
/// to it, which sends whatever chunks a test makes.
struct RawChunks {
    std::unique_ptr<Listener> listener;
    std::unique_ptr<Link> client;  ///< bare: one send, one message
    std::unique_ptr<Link> server;  ///< through the fragmentation layer
};

RawChunks raw_chunk_pair() {
    RawChunks pair;
    pair.listener = registry().listen(posixmq_endpoint());
    auto connecting = std::async(std::launch::async, [&] {
        return PosixMqTransport::connect(pair.listener->endpoint(), {});
    });
    pair.server = accept_one(*pair.listener);
    REQUIRE(connecting.wait_for(deadline) == std::future_status::ready);
    pair.client = connecting.get();
    return pair;
}

/// A chunk of the fragmentation layer's format: flags, the total on a first chunk of
/// several, then the payload.
std::vector<std::byte> chunk(std::uint8_t flags, std::span<const std::byte> payload,
                             std::optional<std::uint64_t> total = std::nullopt) {
    const std::size_t header = total ? 9 : 1;
    std::vector<std::byte> bytes(header + payload.size());
    bytes[0] = std::byte{flags};
    for (std::size_t i = 1; i < header; ++i)
        bytes[i] = std::byte((*total >> (8 * (i - 1))) & 0xffU);
    std::copy(payload.begin(), payload.end(), bytes.begin() + static_cast<std::ptrdiff_t>(header));
    return bytes;
}

}  // namespace

TEST_CASE("posixmq frames kept by the receiver are not overwritten by later messages",
          "[transport][posixmq]") {
    // Messages of mq_msgsize bytes go up as views of the buffer they were received into;
    // a buffer a kept frame views must not take another message.
    auto pair = connect_pair(posixmq_endpoint());
    const std::size_t limit = pair.client->capabilities().native_frame_limit;
    const auto room = static_cast<std::uint32_t>(PosixMqLimits::system().maxmsg);
    // Whole frames, large (viewed) and small (copied) in turn, as many as the queue holds.
    // (A whole frame of limit - 1 bytes is a message of limit bytes: its flags byte first.)
    const auto size_of = [&](std::uint32_t i) { return i % 2 == 0 ? limit - 1 : 16 + i; };
    const auto round = [&](std::uint32_t seed) {
        for (std::uint32_t i = 0; i < room; ++i) pair.client->send(pattern(size_of(i), seed + i));
        auto received = receive_frames(*pair.server, room);
        REQUIRE(received.frames.size() == room);
        return std::move(received.frames);
    };
    const auto intact = [&](const std::vector<Frame>& frames, std::uint32_t seed) {
        for (std::uint32_t i = 0; i < room; ++i) {
            INFO("frame " << i << " of round " << seed);
            CHECK(same_bytes(frames[i].data(), pattern(size_of(i), seed + i)));
        }
    };
    const auto kept = round(100);
    const auto next = round(200);  // received while every frame of the first round is held
    intact(kept, 100);
    intact(next, 200);
    {
        const auto again = round(300);  // the first round still held, the second too
        intact(again, 300);
    }
    intact(kept, 100);
    intact(next, 200);
}

TEST_CASE("bad chunks over posixmq fail the link after what came before them",
          "[transport][posixmq]") {
    auto pair = raw_chunk_pair();
    const std::size_t limit = pair.client->capabilities().native_frame_limit;
    const auto whole = pattern(limit - 1, 1);  // a lone frame as large as a message holds
    pair.client->send(chunk(0x03, whole));
    const auto piece = pattern(limit - 9, 2);
    pair.client->send(chunk(0x01, piece, 2 * limit));  // a frame of three chunks begins

    SECTION("a chunk with more bytes than the frame announced") {
        pair.client->send(chunk(0x00, pattern(limit - 1, 3)));
        pair.client->send(chunk(0x00, pattern(limit - 1, 4)));  // past the announced total
        auto received = receive_until_end(*pair.server);
        REQUIRE(received.frames.size() == 1);
        CHECK(same_bytes(received.frames[0].data(), whole));
        CHECK(received.status.state == State::failed);
        CHECK_THAT(received.status.reason, Catch::Contains("broke the fragmentation") &&
                                               Catch::Contains("more than the frame announced"));
    }
    SECTION("a new frame before the last chunk of the one begun") {
        pair.client->send(chunk(0x03, pattern(10, 5)));
        auto received = receive_until_end(*pair.server);
        REQUIRE(received.frames.size() == 1);
        CHECK(same_bytes(received.frames[0].data(), whole));
        CHECK(received.status.state == State::failed);
        CHECK_THAT(received.status.reason,
                   Catch::Contains("a new frame began after " + std::to_string(piece.size()) +
                                   " of " + std::to_string(2 * limit)));
    }
    SECTION("a peer that closes in the middle of the frame") {
        pair.client->send(chunk(0x00, pattern(limit - 1, 3)));
        pair.client.reset();
        auto received = receive_until_end(*pair.server);
        REQUIRE(received.frames.size() == 1);
        CHECK(same_bytes(received.frames[0].data(), whole));
        CHECK(received.status.state == State::failed);
        CHECK_THAT(received.status.reason,
                   Catch::Contains("in the middle of a fragmented frame (got " +
                                   std::to_string(piece.size() + limit - 1) + " of " +
                                   std::to_string(2 * limit) + " bytes)"));
    }
}
