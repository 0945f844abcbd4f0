// pipe_buffer (transports/src/pipe_buffer.hpp): every transport that declares it sizes
// both pipes of a link, 0 keeps the kernel's default, and a size the kernel refuses is
// reported while the link works with the size it has. Runs on each fixture whose
// transport declares the setting (pipe: and fifo:).

#include "transport_fixtures.hpp"

#include "support/log_capture.hpp"

#include <courier/transports/transport.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <string>

using namespace courier;
using namespace courier::test;
using courier_test::LogCapture;

namespace {

std::vector<const TransportFixture*> pipe_fixtures() {
    std::vector<const TransportFixture*> out;
    for (const auto& fixture : transport_fixtures()) {
        TempDir dir;
        const auto* entry = TransportRegistry::builtin().find(fixture.endpoint(dir).scheme);
        if (entry != nullptr && entry->find_setting("pipe_buffer") != nullptr) {
            out.push_back(&fixture);
        }
    }
    return out;
}

/// The descriptors of this process that are pipe ends (pipes or FIFOs).
std::set<int> pipe_ends() {
    std::set<int> out;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        const int fd = std::stoi(entry.path().filename().string());
        struct stat status {};
        if (::fstat(fd, &status) == 0 && S_ISFIFO(status.st_mode)) out.insert(fd);
    }
    return out;
}

/// A link pair, and the capacities of the pipe ends it opened in this process (both
/// ends of both pipes: the fixtures keep client and server here).
struct SizedPair {
    Connected pair;
    std::vector<int> capacities;
};

SizedPair connect_sized(const TransportFixture& fixture, const TempDir& dir,
                        const TransportOptions& options) {
    const std::set<int> before = pipe_ends();
    SizedPair made{connect_pair(fixture.endpoint(dir), options), {}};
    for (const int fd : pipe_ends()) {
        if (!before.contains(fd)) made.capacities.push_back(::fcntl(fd, F_GETPIPE_SZ));
    }
    return made;
}

int default_capacity() {
    int ends[2];
    REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
    const int size = ::fcntl(ends[0], F_GETPIPE_SZ);
    ::close(ends[0]);
    ::close(ends[1]);
    return size;
}

void check_carries_a_large_frame(Connected& pair) {
    // More than any of the capacities here: the sender waits for the reader.
    const auto frame = pattern(600'000, 7);
    Sender sender([&] { pair.client->send(frame); }, [&] { pair.server.reset(); });
    auto received = receive_frames(*pair.server, 1);
    sender.join();
    REQUIRE(received.frames.size() == 1);
    CHECK(same_bytes(received.frames[0].data(), frame));
}

}  // namespace

TEST_CASE("pipe_buffer sizes both pipes of a link", "[transport][pipe_buffer]") {
    const auto fixtures = pipe_fixtures();
    REQUIRE(fixtures.size() == 2);  // pipe and fifo
    for (const auto* fixture : fixtures) DYNAMIC_SECTION(fixture->name) {
            TempDir dir;
            TransportOptions options;
            options.settings["pipe_buffer"] = 512 * 1024;
            auto sized = connect_sized(*fixture, dir, options);
            CHECK(sized.capacities.size() == 4);  // two pipes, both ends in this process
            for (const int capacity : sized.capacities) CHECK(capacity == 512 * 1024);
            check_carries_a_large_frame(sized.pair);
        }
}

TEST_CASE("pipe_buffer defaults to 256 KiB, and 0 keeps the kernel's default",
          "[transport][pipe_buffer]") {
    for (const auto* fixture : pipe_fixtures()) DYNAMIC_SECTION(fixture->name) {
            TempDir dir;
            auto defaults = connect_sized(*fixture, dir, {});
            REQUIRE_FALSE(defaults.capacities.empty());
            for (const int capacity : defaults.capacities) CHECK(capacity == 256 * 1024);

            TransportOptions zero;
            zero.settings["pipe_buffer"] = 0;
            auto kept = connect_sized(*fixture, dir, zero);
            REQUIRE_FALSE(kept.capacities.empty());
            const int kernel_default = default_capacity();
            for (const int capacity : kept.capacities) CHECK(capacity == kernel_default);
            check_carries_a_large_frame(kept.pair);
        }
}

TEST_CASE("a pipe_buffer the kernel refuses is reported, and the link keeps its size",
          "[transport][pipe_buffer]") {
    for (const auto* fixture : pipe_fixtures()) DYNAMIC_SECTION(fixture->name) {
            TempDir dir;
            TransportOptions options;
            // Beyond what any kernel gives a pipe (2 GiB and more are refused outright).
            options.settings["pipe_buffer"] = std::int64_t{4} << 30;
            LogCapture log;
            auto sized = connect_sized(*fixture, dir, options);
            const int kernel_default = default_capacity();
            REQUIRE_FALSE(sized.capacities.empty());
            for (const int capacity : sized.capacities) CHECK(capacity == kernel_default);
            CHECK_THAT(log.text(), Catch::Contains("pipe_buffer = 4294967296 asked, but the "
                                                   "kernel refused it") &&
                                       Catch::Contains("fs.pipe-max-size"));
            check_carries_a_large_frame(sized.pair);
        }
}
