// send_buffer / receive_buffer (transports/src/socket_buffers.hpp): every transport that
// declares them sets SO_SNDBUF / SO_RCVBUF on both ends of a link, and a request the
// kernel caps is reported. Runs on each fixture whose transport declares the settings.

#include "transport_fixtures.hpp"

#include "support/log_capture.hpp"

#include <courier/transports/transport.hpp>

#include <sys/socket.h>
#include <catch2/catch.hpp>

#include <fstream>

using namespace courier;
using namespace courier::test;
using courier_test::LogCapture;

namespace {

std::size_t socket_option(int fd, int option) {
    int value = 0;
    socklen_t length = sizeof(value);
    REQUIRE(::getsockopt(fd, SOL_SOCKET, option, &value, &length) == 0);
    return static_cast<std::size_t>(value);
}

std::size_t read_sysctl(const char* path) {
    std::ifstream in(path);
    std::size_t value = 0;
    in >> value;
    return value;
}

/// Fixtures of the transports that declare the socket buffer settings.
std::vector<const TransportFixture*> socket_fixtures() {
    std::vector<const TransportFixture*> out;
    for (const auto& fixture : transport_fixtures()) {
        TempDir dir;
        const auto* entry = TransportRegistry::builtin().find(fixture.endpoint(dir).scheme);
        if (entry != nullptr && entry->find_setting("send_buffer") != nullptr &&
            entry->find_setting("receive_buffer") != nullptr) {
            out.push_back(&fixture);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("send_buffer and receive_buffer set both ends of a socket link",
          "[transport][socket_buffers]") {
    const auto fixtures = socket_fixtures();
    REQUIRE(fixtures.size() >= 2);  // unix (path and abstract) and tcp
    for (const auto* fixture : fixtures) DYNAMIC_SECTION(fixture->name) {
            TempDir dir;
            TransportOptions options;
            options.settings["send_buffer"] = 96 * 1024;
            options.settings["receive_buffer"] = 80 * 1024;
            auto pair = connect_pair(fixture->endpoint(dir), options);
            // The kernel doubles a request (the other half is its bookkeeping).
            for (const Link* link : {pair.client.get(), pair.server.get()}) {
                CHECK(socket_option(link->poll_fd(), SO_SNDBUF) == 2 * 96 * 1024);
                CHECK(socket_option(link->poll_fd(), SO_RCVBUF) == 2 * 80 * 1024);
            }
            // More than either buffer: the sender waits for the reader.
            Sender sender([&] { pair.client->send(pattern(300'000, 1)); },
                          [&] { pair.server.reset(); });
            auto received = receive_frames(*pair.server, 1);
            sender.join();
            REQUIRE(received.frames.size() == 1);
            CHECK(same_bytes(received.frames[0].data(), pattern(300'000, 1)));
        }
}

TEST_CASE("0 keeps the kernel's default socket buffers", "[transport][socket_buffers]") {
    for (const auto* fixture : socket_fixtures()) DYNAMIC_SECTION(fixture->name) {
            TempDir dir;
            auto defaults = connect_pair(fixture->endpoint(dir));
            TransportOptions zero;
            zero.settings["send_buffer"] = 0;
            zero.settings["receive_buffer"] = 0;
            auto zeroed = connect_pair(fixture->endpoint(dir), zero);
            CHECK(socket_option(zeroed.client->poll_fd(), SO_SNDBUF) ==
                  socket_option(defaults.client->poll_fd(), SO_SNDBUF));
            CHECK(socket_option(zeroed.server->poll_fd(), SO_RCVBUF) ==
                  socket_option(defaults.server->poll_fd(), SO_RCVBUF));
        }
}

TEST_CASE("a socket buffer above the kernel's cap is capped and reported",
          "[transport][socket_buffers]") {
    const std::size_t wmem_max = read_sysctl("/proc/sys/net/core/wmem_max");
    const std::size_t rmem_max = read_sysctl("/proc/sys/net/core/rmem_max");
    REQUIRE(wmem_max > 0);
    REQUIRE(rmem_max > 0);
    for (const auto* fixture : socket_fixtures()) DYNAMIC_SECTION(fixture->name) {
            TempDir dir;
            TransportOptions options;
            options.settings["send_buffer"] = static_cast<std::int64_t>(2 * wmem_max);
            options.settings["receive_buffer"] = static_cast<std::int64_t>(2 * rmem_max);
            LogCapture log;
            auto pair = connect_pair(fixture->endpoint(dir), options);
            CHECK(socket_option(pair.client->poll_fd(), SO_SNDBUF) == 2 * wmem_max);
            CHECK(socket_option(pair.client->poll_fd(), SO_RCVBUF) == 2 * rmem_max);
            CHECK(socket_option(pair.server->poll_fd(), SO_SNDBUF) == 2 * wmem_max);
            const std::string text = log.text();
            CHECK_THAT(text, Catch::Contains("send_buffer = " + std::to_string(2 * wmem_max) +
                                             " asked, but the kernel caps it at "
                                             "net.core.wmem_max = " +
                                             std::to_string(wmem_max)));
            CHECK_THAT(text,
                       Catch::Contains("receive_buffer") &&
                           Catch::Contains("net.core.rmem_max = " + std::to_string(rmem_max)));
        }
}
