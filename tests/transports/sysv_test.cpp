// sysv: what the conformance suite cannot see — queue cleanup, the waiter thread
// (docs/transports/sysv.md). A killed peer is in the conformance suite.

#include "sysv/sysv_link.hpp"
#include "transport_fixtures.hpp"

#include <courier/transports/transport.hpp>

#include <linux/capability.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <regex>
#include <system_error>
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

/// The sysv links' waiter threads of this process: by name, as a sanitizer's runtime
/// may start threads of its own at any time.
std::size_t thread_count() {
    std::size_t waiters = 0;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::string name;
        std::getline(std::ifstream(task.path() / "comm"), name);
        if (name == detail::SysvLink::waiter_thread_name) ++waiters;
    }
    return waiters;
}

std::size_t read_proc(const char* path) {
    std::ifstream in(path);
    std::size_t value = 0;
    in >> value;
    return value;
}

std::size_t queue_bytes(int id) {
    msqid_ds info{};
    REQUIRE(::msgctl(id, IPC_STAT, &info) == 0);
    return static_cast<std::size_t>(info.msg_qbytes);
}

/// Whether `capability` is in this process's effective set; with `drop`, clears it first.
bool has_capability(int capability, bool drop = false) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    std::array<__user_cap_data_struct, 2> data{};
    if (::syscall(SYS_capget, &header, data.data()) != 0) return false;
    auto& word = data[static_cast<std::size_t>(capability / 32)];
    const auto bit = 1U << (capability % 32);
    if (drop && (word.effective & bit) != 0) {
        word.effective &= ~bit;
        (void)::syscall(SYS_capset, &header, data.data());
        return has_capability(capability);
    }
    return (word.effective & bit) != 0;
}

/// Receives as a worker polling in memory does: receive() only once input_pending()
/// says the waiter handed something over, never waiting on poll_fd().
Received receive_polled(Link& link, std::size_t count) {
    Received received;
    while (received.frames.size() < count && received.status.state == State::open) {
        if (!wait_until([&] { return link.input_pending(); }, deadline,
                        std::chrono::microseconds(0)))
            break;
        received.status = link.receive(received.frames);
    }
    return received;
}

}  // namespace

TEST_CASE("sysv declares the kernel's message limit and priorities", "[transport][sysv]") {
    const auto* entry = TransportRegistry::builtin().find("sysv");
    REQUIRE(entry != nullptr);
    const auto limit =
        std::min(read_proc("/proc/sys/kernel/msgmax"), read_proc("/proc/sys/kernel/msgmnb"));
    CHECK(entry->capabilities.native_frame_limit == limit);
    CHECK(entry->capabilities.priorities);
    CHECK(entry->capabilities.memory_polling);  // what the waiter hands over is in memory
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

TEST_CASE("sysv max_bytes sets msg_qbytes of both queues of a link", "[transport][sysv]") {
    TransportOptions options;
    options.settings["max_bytes"] = 4096;
    auto pair = connect_pair(sysv_endpoint(), options);
    for (const Link* link : {pair.client.get(), pair.server.get()}) {
        for (int id : queues_of(*link)) CHECK(queue_bytes(id) == 4096);
        // No chunk may be larger than a queue holds.
        CHECK(link->capabilities().native_frame_limit == 4096);
    }
    // Frames larger than a queue still arrive, in chunks.
    Sender sender([&] { pair.client->send(pattern(50'000, 7)); }, [&] { pair.server.reset(); });
    auto received = receive_frames(*pair.server, 1);
    sender.join();
    REQUIRE(received.frames.size() == 1);
    CHECK(same_bytes(received.frames[0].data(), pattern(50'000, 7)));
}

TEST_CASE("sysv max_bytes 0 keeps the kernel's msgmnb", "[transport][sysv]") {
    auto pair = connect_pair(sysv_endpoint());
    for (int id : queues_of(*pair.client)) {
        CHECK(queue_bytes(id) == read_proc("/proc/sys/kernel/msgmnb"));
    }
}

TEST_CASE("sysv max_bytes above kernel.msgmnb needs CAP_SYS_RESOURCE", "[transport][sysv]") {
    const std::size_t msgmnb = read_proc("/proc/sys/kernel/msgmnb");
    REQUIRE(msgmnb > 0);
    TransportOptions options;
    options.settings["max_bytes"] = static_cast<std::int64_t>(2 * msgmnb);

    SECTION("without it, listening fails and says why") {
        Child child([&] {
            if (has_capability(CAP_SYS_RESOURCE, true)) return 2;  // could not drop it
            try {
                TransportRegistry::builtin().listen(sysv_endpoint(), options);
            } catch (const std::system_error& e) {
                const std::string what = e.what();
                const bool clear =
                    e.code().value() == EPERM &&
                    what.find("kernel.msgmnb = " + std::to_string(msgmnb)) != std::string::npos &&
                    what.find("CAP_SYS_RESOURCE") != std::string::npos;
                return clear ? 0 : 3;
            }
            return 1;  // listened
        });
        CHECK(child.wait() == 0);
    }
    SECTION("with it, the queues get the size") {
        if (!has_capability(CAP_SYS_RESOURCE)) {
            WARN("skipped: this process lacks CAP_SYS_RESOURCE");
            return;
        }
        auto pair = connect_pair(sysv_endpoint(), options);
        for (int id : queues_of(*pair.client)) CHECK(queue_bytes(id) == 2 * msgmnb);
    }
}

namespace {
/// `frames` are `backlog` frames pattern(8, i) sent in order and then pattern(8, 9999) at
/// priority 200: the urgent one overtook every frame still in the kernel's queue (the
/// waiter takes at most 64 ahead), and the others kept their order.
void check_urgent_overtook(const std::vector<Frame>& frames, std::uint32_t backlog) {
    REQUIRE(frames.size() == backlog + 1);
    const auto urgent = std::find_if(frames.begin(), frames.end(), [](const Frame& frame) {
        return same_bytes(frame.data(), pattern(8, 9999));
    });
    REQUIRE(urgent != frames.end());
    CHECK(urgent->priority == 200);
    CHECK(urgent - frames.begin() <= 64);
    std::uint32_t next = 0;
    for (const auto& frame : frames) {
        if (frame.priority != 0) continue;
        CHECK(same_bytes(frame.data(), pattern(8, next++)));
    }
    CHECK(next == backlog);
}
}  // namespace

TEST_CASE("sysv delivers an urgent frame before the queued backlog, each lane in order",
          "[transport][sysv][priority]") {
    auto pair = connect_pair(sysv_endpoint());
    // The reader does not read: the waiter thread takes up to 64 frames ahead (ordered
    // by priority too), the rest stay in the queue.
    constexpr std::uint32_t backlog = 200;
    for (std::uint32_t i = 0; i < backlog; ++i) pair.client->send(pattern(8, i));
    pair.client->send(pattern(8, 9999), {}, 200);

    auto received = receive_frames(*pair.server, backlog + 1);
    check_urgent_overtook(received.frames, backlog);
}

TEST_CASE("a polled sysv link hands frames over in memory and signals again when polling stops",
          "[transport][sysv][polling]") {
    // An idle worker polls the link (Link::set_polled): the waiter thread must then skip
    // the eventfd (the reactor's wake-up), and nothing may be stranded when polling stops.
    auto pair = connect_pair(sysv_endpoint());
    auto& reader = *pair.server;
    auto signalled = [&] { return wait_readable(reader.poll_fd(), milliseconds(0)); };

    reader.set_polled(true);
    CHECK_FALSE(reader.input_pending());
    pair.client->send(pattern(5, 1));
    REQUIRE(wait_until([&] { return reader.input_pending(); }));
    CHECK_FALSE(signalled());  // decided before input_pending() turned true
    auto received = receive_polled(reader, 1);
    REQUIRE(received.frames.size() == 1);
    CHECK(same_bytes(received.frames[0].data(), pattern(5, 1)));
    CHECK_FALSE(reader.input_pending());

    pair.client->send(pattern(6, 2));  // still polled: no signal after a receive either
    REQUIRE(wait_until([&] { return reader.input_pending(); }));
    CHECK_FALSE(signalled());
    reader.set_polled(false);  // a frame is waiting: the reactor must hear of it now
    CHECK(signalled());
    received = receive_frames(reader, 1);
    REQUIRE(received.frames.size() == 1);
    CHECK(same_bytes(received.frames[0].data(), pattern(6, 2)));
    CHECK_FALSE(signalled());  // the signal was taken with the frame

    pair.client->send(pattern(7, 3));  // not polled: the first frame signals
    CHECK(wait_readable(reader.poll_fd()));
    received = receive_frames(reader, 1);
    REQUIRE(received.frames.size() == 1);
    CHECK(same_bytes(received.frames[0].data(), pattern(7, 3)));
}

TEST_CASE("a polled sysv link keeps lanes and order, and still sees the peer's end",
          "[transport][sysv][polling][priority]") {
    auto pair = connect_pair(sysv_endpoint());
    const auto ids = queues_of(*pair.server);
    auto& reader = *pair.server;
    reader.set_polled(true);
    // As the unpolled backlog test: the waiter takes up to 64 frames ahead, in order.
    constexpr std::uint32_t backlog = 200;
    for (std::uint32_t i = 0; i < backlog; ++i) pair.client->send(pattern(8, i));
    pair.client->send(pattern(8, 9999), {}, 200);

    auto received = receive_polled(reader, backlog + 1);
    CHECK(received.status.state == State::open);
    check_urgent_overtook(received.frames, backlog);
    CHECK_FALSE(wait_readable(reader.poll_fd(), milliseconds(0)));  // no frame signalled

    // The peer's end still wakes the reactor while the link is polled (the control
    // socket), and its last frame comes before `closed`.
    pair.client->send(pattern(9, 4));
    pair.client.reset();
    REQUIRE(wait_readable(reader.poll_fd()));
    auto rest = receive_until_end(reader);
    REQUIRE(rest.frames.size() == 1);
    CHECK(same_bytes(rest.frames[0].data(), pattern(9, 4)));
    CHECK(rest.status.state == State::closed);
    CHECK(queues_gone(ids));
}
