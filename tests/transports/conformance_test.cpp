// The conformance suite: what every transport promises (docs/transports/contract.md).
// Written once; each test runs as one section per entry of transport_fixtures(), and
// every section ends by checking that it left nothing behind (leftovers.hpp).

#include "leftovers.hpp"
#include "transport_fixtures.hpp"

#include <courier/transports/transport.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

using namespace courier;
using namespace courier::test;
using State = ReceiveStatus::State;

namespace {

/// Compares without making Catch2 print a 16 MiB vector on failure.
std::uint32_t read_u32(const std::byte* p) {
    std::uint32_t v = 0;
    std::memcpy(&v, p, sizeof(v));
    return v;
}

/// Restores SIGPIPE's default action (death) for the scope, so a transport that lets
/// SIGPIPE through kills the test instead of passing by luck.
struct DefaultSigpipe {
    struct sigaction saved {};
    DefaultSigpipe() {
        struct sigaction action {};
        action.sa_handler = SIG_DFL;
        ::sigaction(SIGPIPE, &action, &saved);
    }
    ~DefaultSigpipe() { ::sigaction(SIGPIPE, &saved, nullptr); }
};

const TransportRegistry& registry() {
    return TransportRegistry::builtin();
}

using CaseBody = std::function<void(const TransportFixture&, const TempDir&, const Endpoint&)>;

/// Runs `body` once per transport, as a section named after it, with a fresh directory
/// and endpoint; when the body has returned (and its links, listeners and children are
/// gone), checks that nothing is left: no file, socket, segment or queue.
void for_each_transport(const CaseBody& body) {
    for (const auto& fixture : transport_fixtures()) DYNAMIC_SECTION(fixture.name) {
            TempDir dir;
            const Endpoint endpoint = fixture.endpoint(dir);
            const Leftovers leftovers(dir, endpoint);
            body(fixture, dir, endpoint);
            leftovers.check();
        }
}

/// Every frame equals pattern(size_of(i), i), in order.
bool frames_in_order(const std::vector<Frame>& frames,
                     const std::function<std::size_t(std::uint32_t)>& size_of) {
    for (std::uint32_t i = 0; i < frames.size(); ++i) {
        if (!same_bytes(frames[i].data(), pattern(size_of(i), i))) {
            UNSCOPED_INFO("frame " << i << " of " << frames[i].data().size()
                                   << " bytes is not the one sent " << i << "th");
            return false;
        }
    }
    return true;
}

/// Frame `seq` of sending thread `t`: a pattern of `size` bytes (at least 8) stamped
/// with `t` and `seq` in front, so the reader can tell whose it is and check it whole.
std::vector<std::byte> stamped(std::uint32_t t, std::uint32_t seq, std::size_t size) {
    auto bytes = pattern(size, t * 1'000'000 + seq);
    std::memcpy(bytes.data(), &t, 4);
    std::memcpy(bytes.data() + 4, &seq, 4);
    return bytes;
}

/// Checks frames of `threads` senders of stamped() frames: none mixed with another,
/// each thread's in its order.
void check_stamped(const std::vector<Frame>& frames, std::uint32_t threads,
                   const std::function<std::size_t(std::uint32_t)>& size_of) {
    std::vector<std::uint32_t> next(threads, 0);
    for (const auto& frame : frames) {
        REQUIRE(frame.data().size() >= 8);
        const std::uint32_t t = read_u32(frame.data().data());
        const std::uint32_t seq = read_u32(frame.data().data() + 4);
        REQUIRE(t < threads);
        REQUIRE(seq == next[t]);
        ++next[t];
        REQUIRE(same_bytes(frame.data(), stamped(t, seq, size_of(seq))));
    }
}

}  // namespace

TEST_CASE("a listener and its links describe themselves", "[transport][conformance]") {
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        const auto* entry = registry().find(endpoint.scheme);
        REQUIRE(entry != nullptr);
        CHECK(pair.listener->endpoint().scheme == endpoint.scheme);
        CHECK(Endpoint::parse(pair.listener->endpoint().to_string()) == pair.listener->endpoint());
        for (const Link* link : {pair.client.get(), pair.server.get()}) {
            CHECK(link->capabilities().fd_passing == entry->capabilities.fd_passing);
            CHECK(link->capabilities().native_frame_limit ==
                  entry->capabilities.native_frame_limit);
            CHECK(link->poll_fd() >= 0);
            CHECK_FALSE(link->peer().empty());
        }
        std::vector<Frame> frames;
        CHECK(pair.server->receive(frames).state == State::open);
        CHECK(frames.empty());
    });
}

TEST_CASE("a link made over a unix: socket gives the pid of the process at the other end",
          "[transport][conformance]") {
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        // Both ends are in this process here; tests/process/peer_claim_test.cpp has them
        // in two. tcp: cannot tell (its handshake proves the cookie instead), nor pipe:.
        const bool told = endpoint.scheme != "tcp" && endpoint.scheme != "pipe";
        CHECK(pair.server->peer_pid() == (told ? ::getpid() : 0));
        CHECK(pair.client->peer_pid() == (told ? ::getpid() : 0));
    });
}

TEST_CASE("frames of 0 B, 1 B, 64 KiB and 64 MiB arrive whole and in order",
          "[transport][conformance]") {
    // Every transport carries 64 MiB: those with a smaller native limit through the
    // shared fragmentation layer (docs/transports/contract.md).
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        const std::array<std::size_t, 5> sizes{1, 0, std::size_t{64} << 10, std::size_t{64} << 20,
                                               1};
        Sender sender(
            [&] {
                for (std::uint32_t i = 0; i < sizes.size(); ++i) {
                    pair.client->send(pattern(sizes[i], i));
                }
            },
            [&] { pair.server.reset(); });
        auto received = receive_frames(*pair.server, sizes.size());
        INFO("status: " << received.status.reason);
        REQUIRE(received.frames.size() == sizes.size());
        CHECK(frames_in_order(received.frames, [&](std::uint32_t i) { return sizes[i]; }));
        for (const auto& frame : received.frames) CHECK(frame.fds.empty());
        sender.join();
    });
}

TEST_CASE("100,000 small frames arrive in order", "[transport][conformance]") {
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        constexpr std::uint32_t count = 100'000;
        const auto size_of = [](std::uint32_t i) -> std::size_t { return i % 97; };
        Sender sender(
            [&] {
                for (std::uint32_t i = 0; i < count; ++i) pair.client->send(pattern(size_of(i), i));
            },
            [&] { pair.server.reset(); });
        auto received = receive_frames(*pair.server, count);
        INFO("status: " << received.status.reason);
        REQUIRE(received.frames.size() == count);
        CHECK(frames_in_order(received.frames, size_of));
        sender.join();
    });
}

TEST_CASE("both ends send at the same time", "[transport][conformance]") {
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        constexpr std::uint32_t count = 2'000;
        constexpr std::size_t size = 4096;  // 8 MiB each way: more than any socket buffer
        const auto send_all = [&](Link& link, std::uint32_t seed) {
            for (std::uint32_t i = 0; i < count; ++i) link.send(pattern(size, seed + i));
        };
        Sender up([&] { send_all(*pair.client, 0); }, [&] { pair.server.reset(); });
        Sender down([&] { send_all(*pair.server, 1'000'000); }, [&] { pair.client.reset(); });

        std::vector<Frame> at_server, at_client;
        const auto until = Clock::now() + deadline;
        while ((at_server.size() < count || at_client.size() < count) && Clock::now() < until) {
            std::array<pollfd, 2> fds{pollfd{pair.server->poll_fd(), POLLIN, 0},
                                      pollfd{pair.client->poll_fd(), POLLIN, 0}};
            ::poll(fds.data(), fds.size(), 100);
            REQUIRE(pair.server->receive(at_server).state == State::open);
            REQUIRE(pair.client->receive(at_client).state == State::open);
        }
        REQUIRE(at_server.size() == count);
        REQUIRE(at_client.size() == count);
        for (std::uint32_t i = 0; i < count; ++i) {
            REQUIRE(same_bytes(at_server[i].data(), pattern(size, i)));
            REQUIRE(same_bytes(at_client[i].data(), pattern(size, 1'000'000 + i)));
        }
        up.join();
        down.join();
    });
}

TEST_CASE("frames from several sending threads never interleave", "[transport][conformance]") {
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        constexpr std::uint32_t threads = 4;
        constexpr std::uint32_t per_thread = 300;
        // Sizes up to ~200 KiB, so single frames need several writes.
        const auto size_of = [](std::uint32_t seq) { return 8 + (seq * 7919U) % 200'000U; };
        std::vector<std::unique_ptr<Sender>> senders;
        for (std::uint32_t t = 0; t < threads; ++t) {
            senders.push_back(std::make_unique<Sender>(
                [&, t] {
                    for (std::uint32_t seq = 0; seq < per_thread; ++seq)
                        pair.client->send(stamped(t, seq, size_of(seq)));
                },
                [&] { pair.server.reset(); }));
        }
        auto received = receive_frames(*pair.server, threads * per_thread);
        INFO("status: " << received.status.reason);
        REQUIRE(received.frames.size() == threads * per_thread);
        check_stamped(received.frames, threads, size_of);
        for (auto& sender : senders) sender->join();
    });
}

TEST_CASE("a reader slower than the writer loses nothing: the writer waits for room",
          "[transport][conformance]") {
    // The policy of every transport today is to block the writer (contract.md, "send");
    // none drops a frame or fails a send because the reader is slow.
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        // 16 MiB: more than any mechanism holds with default settings (unix socket buffers
        // ~2 x 208 KiB, TCP's send buffer <= 4 MiB plus an unread window, a pipe 64 KiB,
        // queues < 1 MiB, a shm ring 1 MiB), so the writer cannot finish ahead of the reader.
        constexpr std::uint32_t count = 256;
        constexpr std::size_t size = std::size_t{64} << 10;
        std::atomic<pid_t> writer_tid{0};
        std::atomic<std::uint32_t> sent{0};
        std::atomic<bool> done{false};
        Sender writer(
            [&] {
                writer_tid = ::gettid();
                for (std::uint32_t i = 0; i < count; ++i) {
                    pair.client->send(pattern(size, i));
                    ++sent;
                }
                done = true;
            },
            [&] { pair.server.reset(); });
        const auto writer_waits = [&] { return done || thread_asleep(writer_tid); };

        // The reader has not read yet: the writer fills the mechanism and waits.
        REQUIRE(wait_until(writer_waits));
        CHECK_FALSE(done);
        CHECK(sent < count);

        // Then the reader takes what has arrived only each time the writer waits for it.
        std::vector<Frame> frames;
        const auto until = Clock::now() + deadline;
        while (frames.size() < count && Clock::now() < until) {
            REQUIRE(wait_until(writer_waits));
            wait_readable(pair.server->poll_fd(), milliseconds(100));
            const auto status = pair.server->receive(frames);
            INFO("status: " << status.reason);
            REQUIRE(status.state == State::open);
        }
        REQUIRE(frames.size() == count);
        CHECK(frames_in_order(frames, [](std::uint32_t) { return size; }));
        writer.join();  // and it never threw
        CHECK(done);
    });
}

TEST_CASE("receive returns a batch while the peer keeps sending", "[transport][conformance]") {
    // receive() runs on the node's reactor: a peer writing as fast as we read must not
    // keep it in one call. poll_fd() stays readable, so the rest comes with the next call.
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        // 64 MiB: more than any mechanism holds (TCP's buffers top out near 36 MiB) plus
        // one batch, so the writer cannot be done when the first batch comes back.
        constexpr std::uint32_t count = 1024;
        constexpr std::size_t size = std::size_t{64} << 10;
        std::atomic<bool> stop{false}, done{false};
        std::atomic<std::uint32_t> sent{0};
        Sender writer(
            [&] {
                const auto frame = pattern(size, 5);
                for (; sent < count && !stop; ++sent) pair.client->send(frame);
                done = true;
            },
            [&] { pair.server.reset(); });
        std::vector<Frame> frames;
        const auto until = Clock::now() + deadline;
        while (frames.empty() && Clock::now() < until) {
            wait_readable(pair.server->poll_fd(), milliseconds(100));
            REQUIRE(pair.server->receive(frames).state == State::open);
        }
        REQUIRE_FALSE(frames.empty());
        CHECK_FALSE(done);  // the call came back while the writer was still writing
        stop = true;
        while ((!done || frames.size() < sent) && Clock::now() < until) {
            wait_readable(pair.server->poll_fd(), milliseconds(100));
            REQUIRE(pair.server->receive(frames).state == State::open);
        }
        REQUIRE(done);
        writer.join();
        CHECK(frames.size() == sent);
    });
}

TEST_CASE("receive returns nothing until a frame is complete", "[transport][conformance]") {
    for_each_transport(
        [](const TransportFixture& fixture, const TempDir&, const Endpoint& endpoint) {
            if (!fixture.raw_connect) return;  // not a byte stream: frames cannot be cut
            auto listener = registry().listen(endpoint);
            auto [raw, server] = raw_accepted(fixture, *listener);

            const auto body = pattern(10, 7);
            auto wire = length_prefix(10);
            wire.insert(wire.end(), body.begin(), body.end());
            const auto step = [&](std::size_t from, std::size_t to) {
                write_raw(raw.get(), std::span(wire).subspan(from, to - from));
                REQUIRE(wait_readable(server->poll_fd()));
                std::vector<Frame> frames;
                CHECK(server->receive(frames).state == State::open);
                return frames;
            };
            CHECK(step(0, 2).empty());  // half a length prefix
            CHECK(step(2, 7).empty());  // the prefix and 3 of 10 bytes
            const auto frames = step(7, wire.size());
            REQUIRE(frames.size() == 1);
            CHECK(same_bytes(frames[0].data(), body));
        });
}

TEST_CASE("a length above max_frame_size fails the link before anything is allocated",
          "[transport][conformance]") {
    for_each_transport(
        [](const TransportFixture& fixture, const TempDir&, const Endpoint& endpoint) {
            if (!fixture.raw_connect) return;
            SECTION("with the default limit, a 4 GiB announcement") {
                auto listener = registry().listen(endpoint);
                auto [raw, server] = raw_accepted(fixture, *listener);
                write_raw(raw.get(), length_prefix(0xffffffffU));
                auto received = receive_until_end(*server);
                CHECK(received.frames.empty());
                REQUIRE(received.status.state == State::failed);
                CHECK_THAT(received.status.reason,
                           Catch::Contains("4294967295") && Catch::Contains("limit"));
            }
            SECTION("with a configured limit, one byte over it") {
                TransportOptions options;
                options.max_frame_size = 1024;
                auto listener = registry().listen(endpoint, options);
                auto [raw, server] = raw_accepted(fixture, *listener);
                auto wire = length_prefix(1024);
                const auto body = pattern(1024, 1);
                wire.insert(wire.end(), body.begin(), body.end());
                const auto too_big = length_prefix(1025);
                wire.insert(wire.end(), too_big.begin(), too_big.end());
                write_raw(raw.get(), wire);

                auto received = receive_until_end(*server);
                REQUIRE(received.frames.size() == 1);  // the frame at the limit still passes
                CHECK(same_bytes(received.frames[0].data(), body));
                REQUIRE(received.status.state == State::failed);
                CHECK_THAT(received.status.reason, Catch::Contains("1025"));
                std::vector<Frame> more;
                CHECK(server->receive(more).state == State::failed);  // and stays failed
            }
        });
}

TEST_CASE("sending a frame above max_frame_size throws and leaves the link usable",
          "[transport][conformance]") {
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        TransportOptions options;
        options.max_frame_size = 1024;
        auto pair = connect_pair(endpoint, options);
        CHECK_THROWS_WITH(pair.client->send(pattern(1025, 0)), Catch::Contains("limit"));
        pair.client->send(pattern(1024, 1));
        auto received = receive_frames(*pair.server, 1);
        REQUIRE(received.frames.size() == 1);
        CHECK(same_bytes(received.frames[0].data(), pattern(1024, 1)));
    });
}

TEST_CASE("a peer that closes is reported closed after its last frames",
          "[transport][conformance]") {
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        SECTION("client closes") {
            for (std::uint32_t i = 0; i < 3; ++i) pair.client->send(pattern(100, i));
            pair.client.reset();
            auto received = receive_until_end(*pair.server);
            CHECK(received.frames.size() == 3);
            CHECK(received.status.state == State::closed);
        }
        SECTION("server closes") {
            pair.server->send(pattern(100, 0));
            pair.server.reset();
            auto received = receive_until_end(*pair.client);
            CHECK(received.frames.size() == 1);
            CHECK(received.status.state == State::closed);
        }
    });
}

TEST_CASE(
    "a link's poll members stand for its poll_fd: a frame or the peer's end makes one "
    "readable",
    "[transport][conformance]") {
    // A node's reactor watches the members one by one instead of poll_fd (an epoll set,
    // which the kernel cannot wake one waiter of): each event must reach a member too.
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        const auto members = pair.server->poll_members();
        if (members.empty()) return;  // poll_fd is the link's only descriptor
        CHECK(std::find(members.begin(), members.end(), pair.server->poll_fd()) == members.end());
        const auto one_readable = [&] {
            std::vector<pollfd> fds;
            for (const int fd : members) fds.push_back(pollfd{fd, POLLIN, 0});
            return ::poll(fds.data(), fds.size(), static_cast<int>(deadline.count())) > 0;
        };
        pair.client->send(pattern(100, 0));
        REQUIRE(one_readable());
        CHECK(receive_frames(*pair.server, 1).frames.size() == 1);
        pair.client.reset();
        REQUIRE(one_readable());
        CHECK(receive_until_end(*pair.server).status.state == State::closed);
    });
}

TEST_CASE("a peer that closes in the middle of a frame fails the link",
          "[transport][conformance]") {
    for_each_transport([](const TransportFixture& fixture, const TempDir&,
                          const Endpoint& endpoint) {
        if (!fixture.raw_connect) return;
        // A small frame, and a large one (read straight into its own buffer).
        for (const std::uint32_t length : {100U, 1U << 20}) {
            INFO("a frame of " << length << " bytes");
            const std::uint32_t sent = length / 10;
            auto listener = registry().listen(endpoint);
            auto [raw, server] = raw_accepted(fixture, *listener);
            auto wire = length_prefix(length);
            const auto part = pattern(sent, 0);
            wire.insert(wire.end(), part.begin(), part.end());
            write_raw(raw.get(), wire);
            raw.reset();
            auto received = receive_until_end(*server);
            CHECK(received.frames.empty());
            REQUIRE(received.status.state == State::failed);
            CHECK_THAT(received.status.reason,
                       Catch::Contains("middle of a frame") &&
                           Catch::Contains(std::to_string(sent) + " of " + std::to_string(length)));
        }
    });
}

TEST_CASE("sending after the peer closed throws LinkError instead of raising SIGPIPE",
          "[transport][conformance]") {
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        DefaultSigpipe sigpipe_kills;
        auto pair = connect_pair(endpoint);
        pair.server.reset();
        REQUIRE(send_fails_within(*pair.client));
        CHECK_THROWS_AS(pair.client->send(pattern(1, 0)), LinkError);
    });
}

TEST_CASE("a peer SIGKILLed mid-stream ends the link on the survivor, without a hang",
          "[transport][conformance][process]") {
    for_each_transport(
        [](const TransportFixture& fixture, const TempDir&, const Endpoint& endpoint) {
            if (!fixture.listens) return;  // pipe: no listener; pipe_test.cpp spawns its child
            DefaultSigpipe sigpipe_kills;
            auto listener = registry().listen(endpoint);
            const Endpoint bound = listener->endpoint();
            std::optional<Child> child;

            SECTION("the survivor was reading") {
                // Frames of 100 kB take several writes (or chunks), so the kill may cut one.
                const auto frame = pattern(100'000, 1);
                child.emplace([&] {
                    auto link = registry().connect(bound);
                    for (;;) link->send(frame);
                    return 0;
                });
                auto server = accept_one(*listener);
                REQUIRE(receive_frames(*server, 3).frames.size() >= 3);  // mid-stream
                child.reset();                                           // SIGKILL, reaped
                auto rest = receive_until_end(*server);
                INFO("status: " << rest.status.reason);
                CHECK(rest.status.state != State::open);  // closed or failed, within the deadline
                for (const auto& got : rest.frames) CHECK(same_bytes(got.data(), frame));  // whole
                CHECK(send_fails_within(*server));
            }
            SECTION("the survivor was blocked writing") {
                child.emplace([&] { return connect_and_stay(bound); });  // never reads
                auto server = accept_one(*listener);
                REQUIRE(receive_frames(*server, 1).frames.size() == 1);
                std::atomic<pid_t> writer_tid{0};
                std::atomic<bool> ended{false};
                const auto writer_ended = [&] { return ended.load(); };
                Sender writer(
                    [&] {
                        writer_tid = ::gettid();
                        const auto frame = pattern(64 << 10, 3);
                        try {
                            for (;;) server->send(frame);  // fills the mechanism, then waits
                        } catch (...) {
                            ended = true;
                            throw;
                        }
                    },
                    [&] {
                        child.reset();
                        // A writer still blocked after its reader died is the hang this test is
                        // about: abort (Catch2 reports where) rather than wait in the join.
                        if (!wait_until(writer_ended)) std::abort();
                    });
                REQUIRE(wait_until([&] { return thread_asleep(writer_tid); }));
                child.reset();
                REQUIRE(wait_until(writer_ended));  // within the deadline
                CHECK_THROWS_AS(writer.join(), LinkError);
            }
            SECTION("the survivor closes without reading the end") {
                // Its destructor alone must clean up what the dead peer cannot (a queue).
                child.emplace([&] { return connect_and_stay(bound); });
                auto server = accept_one(*listener);
                REQUIRE(receive_frames(*server, 1).frames.size() == 1);
                child.reset();
                server.reset();
            }
        });
}

TEST_CASE("after the listening process is killed and restarted, a new link works",
          "[transport][conformance][process]") {
    for_each_transport([](const TransportFixture& fixture, const TempDir&,
                          const Endpoint& endpoint) {
        if (!fixture.listens) return;  // pipe: no listener; pipe_test.cpp spawns its child
        DefaultSigpipe sigpipe_kills;
        // The first listener process: accepts one link, greets it, waits to be killed.
        ReadySignal first_ready;
        std::optional<Child> first;
        first.emplace([&] {
            auto listener = registry().listen(endpoint);
            first_ready.signal(listener->endpoint().to_string());
            auto link = accept_one(*listener);
            link->send(pattern(10, 1));
            for (;;) ::pause();
            return 0;
        });
        const std::string announced = first_ready.message();
        REQUIRE_FALSE(announced.empty());
        const Endpoint bound = Endpoint::parse(announced);  // tcp: the port it was given
        auto old_link = registry().connect(bound);
        REQUIRE(receive_frames(*old_link, 1).frames.size() == 1);
        first.reset();  // SIGKILL, reaped

        // The old link reports the end...
        CHECK(receive_until_end(*old_link).status.state != State::open);
        CHECK(send_fails_within(*old_link));
        old_link.reset();  // no thread of it may be running when we fork again

        // ... and a listener started again on the same endpoint takes new links.
        ReadySignal second_ready;
        Child second([&] {
            auto listener = registry().listen(bound);
            second_ready.signal();
            auto link = accept_one(*listener);
            link->send(pattern(10, 2));
            const auto reply = receive_frames(*link, 1);
            return reply.frames.size() == 1 && same_bytes(reply.frames[0].data(), pattern(20, 3))
                       ? 0
                       : 1;
        });
        REQUIRE(second_ready.wait());
        auto new_link = registry().connect(bound);
        auto greeting = receive_frames(*new_link, 1);
        REQUIRE(greeting.frames.size() == 1);
        CHECK(same_bytes(greeting.frames[0].data(), pattern(10, 2)));
        new_link->send(pattern(20, 3));
        CHECK(second.wait() == 0);
        CHECK(receive_until_end(*new_link).status.state == State::closed);
    });
}

TEST_CASE("file descriptors travel with their frame, or are refused", "[transport][conformance]") {
    // Transport level only; fd_test.cpp tests the Fd handle itself.
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        std::array<int, 2> ends{};
        REQUIRE(::pipe2(ends.data(), O_CLOEXEC) == 0);
        Fd read_end(ends[0]), write_end(ends[1]);

        if (!pair.client->capabilities().fd_passing) {
            const std::array<int, 1> fds{write_end.get()};
            CHECK_THROWS_AS(pair.client->send(pattern(4, 0), fds), LinkError);
            CHECK_THROWS_WITH(pair.client->send(pattern(4, 0), fds),
                              Catch::Contains("cannot carry file descriptors") &&
                                  Catch::Contains(pair.client->peer()));
            pair.client->send(pattern(4, 1));  // nothing was sent, the link still works
            auto received = receive_frames(*pair.server, 1);
            REQUIRE(received.frames.size() == 1);
            CHECK(same_bytes(received.frames[0].data(), pattern(4, 1)));
            return;
        }
        SECTION("a pipe's write end works in the receiver") {
            const std::array<int, 1> fds{write_end.get()};
            pair.client->send(pattern(4, 0), fds);
            auto received = receive_frames(*pair.server, 1);
            REQUIRE(received.frames.size() == 1);
            REQUIRE(received.frames[0].fds.size() == 1);
            Fd passed = std::move(received.frames[0].fds[0]);
            CHECK((::fcntl(passed.get(), F_GETFD) & FD_CLOEXEC) != 0);
            write_end.reset();
            const char message[] = "hello";
            REQUIRE(::write(passed.get(), message, sizeof(message)) == sizeof(message));
            passed.reset();
            std::array<char, 16> buffer{};
            REQUIRE(wait_readable(read_end.get()));
            REQUIRE(::read(read_end.get(), buffer.data(), buffer.size()) == sizeof(message));
            CHECK(std::string(buffer.data()) == "hello");
        }
        SECTION("frames with and without descriptors keep theirs, even in one read") {
            // Frame i carries (i % 4) descriptors, each a distinct dup of the pipe, so
            // the receiver can tell by inode+fd-count which frame got which.
            constexpr std::uint32_t count = 60;
            std::vector<std::vector<Fd>> sent(count);
            for (std::uint32_t i = 0; i < count; ++i) {
                std::vector<int> raw;
                for (std::uint32_t k = 0; k < i % 4; ++k) {
                    sent[i].emplace_back(::fcntl(write_end.get(), F_DUPFD_CLOEXEC, 0));
                    raw.push_back(sent[i].back().get());
                }
                pair.client->send(pattern(1 + i * 37, i), raw);
            }
            auto received = receive_frames(*pair.server, count);
            REQUIRE(received.frames.size() == count);
            struct stat original {};
            REQUIRE(::fstat(write_end.get(), &original) == 0);
            for (std::uint32_t i = 0; i < count; ++i) {
                INFO("frame " << i);
                REQUIRE(same_bytes(received.frames[i].data(), pattern(1 + i * 37, i)));
                REQUIRE(received.frames[i].fds.size() == i % 4);
                for (const auto& fd : received.frames[i].fds) {
                    struct stat passed {};
                    REQUIRE(::fstat(fd.get(), &passed) == 0);
                    CHECK(passed.st_ino == original.st_ino);
                }
            }
        }
    });
}

TEST_CASE("a second process exchanges frames over a link", "[transport][conformance][process]") {
    for_each_transport([](const TransportFixture& fixture, const TempDir&,
                          const Endpoint& endpoint) {
        if (!fixture.listens) return;  // pipe: no listener; pipe_test.cpp spawns its child
        auto listener = registry().listen(endpoint);
        constexpr std::uint32_t count = 1000;
        const Endpoint bound = listener->endpoint();
        Child child([&] {
            auto link = registry().connect(bound);
            for (std::uint32_t i = 0; i < count; ++i) link->send(pattern(i % 500, i));
            auto reply = receive_frames(*link, 1);  // wait for the parent's "got them"
            return reply.frames.size() == 1 && same_bytes(reply.frames[0].data(), pattern(3, 42))
                       ? 0
                       : 1;
        });
        auto server = accept_one(*listener);
        CHECK_THAT(server->peer(), !Catch::Contains("pid " + std::to_string(::getpid()) + ","));
        auto received = receive_frames(*server, count);
        INFO("status: " << received.status.reason);
        REQUIRE(received.frames.size() == count);
        CHECK(frames_in_order(received.frames, [](std::uint32_t i) { return i % 500; }));
        server->send(pattern(3, 42));
        CHECK(child.wait() == 0);
        CHECK(receive_until_end(*server).status.state == State::closed);
    });
}

// ---- Batching: send(..., more = true) and flush() -----------------------------------

TEST_CASE("frames sent with more arrive after flush, in order, mixed with other sends",
          "[transport][conformance][batch]") {
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        constexpr std::uint32_t count = 20'000;
        // Mostly small; every 1000th frame larger than a stream link's batch (64 KiB).
        const auto size_of = [](std::uint32_t i) -> std::size_t {
            return i % 1000 == 999 ? 100'000 : i % 97;
        };
        Sender sender(
            [&] {
                for (std::uint32_t i = 0; i < count; ++i) {
                    // Runs of 1..49 kept frames, each ended by a send without more.
                    const bool more = i % 50 != 49 || i + 1 == count;
                    pair.client->send(pattern(size_of(i), i), {}, 0, more);
                }
                pair.client->flush();  // the last frames were all sent with more
            },
            [&] { pair.server.reset(); });
        auto received = receive_frames(*pair.server, count);
        INFO("status: " << received.status.reason);
        REQUIRE(received.frames.size() == count);
        CHECK(frames_in_order(received.frames, size_of));
        sender.join();
    });
}

TEST_CASE("a frame sent in parts arrives as the parts laid end to end",
          "[transport][conformance][parts]") {
    // Link::send_parts: what the node sends a message with a large Bytes by. Each frame i
    // is pattern(size, i) cut into parts at fixed places, some of them empty; sent with
    // and without `more`, from 0 B to 3 MiB (past every fragmenting transport's limit).
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        const std::array<std::size_t, 6> sizes{
            0, 10, 40'000, std::size_t{1} << 20, 77, (std::size_t{3} << 20) + 5};
        constexpr std::uint32_t count = 24;
        const auto size_of = [&](std::uint32_t i) { return sizes[i % sizes.size()]; };
        Sender sender(
            [&] {
                for (std::uint32_t i = 0; i < count; ++i) {
                    const auto whole = pattern(size_of(i), i);
                    const std::span<const std::byte> all(whole);
                    // One part in three frames; the others cut at a third and two
                    // thirds, with an empty part at the end.
                    const std::size_t a = all.size() / 3, b = 2 * all.size() / 3;
                    const std::array<std::span<const std::byte>, 4> parts{
                        all.first(a), all.subspan(a, b - a), all.subspan(b), all.last(0)};
                    const bool more = i % 2 == 0;
                    if (i % 3 == 0)
                        pair.client->send_parts(std::span(&all, 1), {}, 0, more);
                    else
                        pair.client->send_parts(parts, {}, 0, more);
                }
                pair.client->flush();
            },
            [&] { pair.server.reset(); });
        auto received = receive_frames(*pair.server, count);
        INFO("status: " << received.status.reason);
        REQUIRE(received.frames.size() == count);
        CHECK(frames_in_order(received.frames, size_of));
        sender.join();
    });
}

TEST_CASE("flush hands over what every thread kept, each thread in its order",
          "[transport][conformance][batch]") {
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        constexpr std::uint32_t threads = 4;
        constexpr std::uint32_t per_thread = 2'000;
        const auto size_of = [](std::uint32_t seq) { return std::size_t{8} + seq % 300; };
        std::vector<std::unique_ptr<Sender>> senders;
        for (std::uint32_t t = 0; t < threads; ++t) {
            senders.push_back(std::make_unique<Sender>(
                [&, t] {
                    for (std::uint32_t seq = 0; seq < per_thread; ++seq)
                        pair.client->send(stamped(t, seq, size_of(seq)), {}, 0,
                                          /*more=*/seq % 500 != 0);
                    pair.client->flush();
                },
                [&] { pair.server.reset(); }));
        }
        auto received = receive_frames(*pair.server, threads * per_thread);
        INFO("status: " << received.status.reason);
        REQUIRE(received.frames.size() == threads * per_thread);
        check_stamped(received.frames, threads, size_of);
        for (auto& sender : senders) sender->join();
    });
}

TEST_CASE("a frame with descriptors is not kept, and takes the kept frames before it",
          "[transport][conformance][batch]") {
    for_each_transport([](const TransportFixture&, const TempDir&, const Endpoint& endpoint) {
        auto pair = connect_pair(endpoint);
        if (!pair.client->capabilities().fd_passing) return;
        std::array<int, 2> ends{};
        REQUIRE(::pipe2(ends.data(), O_CLOEXEC) == 0);
        Fd read_end(ends[0]), write_end(ends[1]);
        const std::array<int, 1> fds{write_end.get()};
        pair.client->send(pattern(10, 0), {}, 0, /*more=*/true);
        pair.client->send(pattern(20, 1), fds, 0, /*more=*/true);
        // No flush: both must arrive, the descriptor with the second frame.
        auto received = receive_frames(*pair.server, 2);
        INFO("status: " << received.status.reason);
        REQUIRE(received.frames.size() == 2);
        CHECK(same_bytes(received.frames[0].data(), pattern(10, 0)));
        CHECK(received.frames[0].fds.empty());
        CHECK(same_bytes(received.frames[1].data(), pattern(20, 1)));
        CHECK(received.frames[1].fds.size() == 1);
    });
}

TEST_CASE("kept frames for a peer that is gone fail send or flush with LinkError",
          "[transport][conformance][batch]") {
    for_each_transport(
        [](const TransportFixture& fixture, const TempDir&, const Endpoint& endpoint) {
            DefaultSigpipe sigpipe_kills;
            auto pair = connect_pair(endpoint);
            pair.server.reset();
            bool failed = false;
            bool flush_threw = false;
            const auto frame = pattern(100, 0);
            const auto until = Clock::now() + deadline;
            while (!failed && Clock::now() < until) {
                try {
                    pair.client->send(frame, {}, 0, /*more=*/true);
                } catch (const LinkError&) {
                    failed = true;
                    break;
                }
                try {
                    pair.client->flush();
                } catch (const LinkError&) {
                    failed = flush_threw = true;
                }
            }
            REQUIRE(failed);
            // A stream link keeps a small frame until flush: there the failure is flush's.
            if (fixture.raw_connect) CHECK(flush_threw);
            CHECK_THROWS_AS(pair.client->send(frame), LinkError);
        });
}
