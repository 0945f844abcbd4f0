// courierd facing bad input: a frame that is not an envelope, an unknown type, a payload
// of the wrong type, a request for someone else, a message that is not a request, and raw
// bytes below the framing each close that one connection; courierd serves the others.

#include "process_support.hpp"
#include "registry/registry_client.hpp"

#include <courier/framework/runtime_dir.hpp>
#include <courier/serialization/codec.hpp>
#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace {

/// A type courierd does not know.
struct NotARegistryMessage {
    std::string text;
    template <class A>
    void serialize(A& a) {
        a(text);
    }
};

}  // namespace

COURIER_MESSAGE(NotARegistryMessage, "courier.test.NotARegistryMessage");

namespace {

using namespace courier;
using namespace courier::test;

/// Waits for the registry to close a link; true when it did within `within`.
bool closed_by_peer(Link& link, milliseconds within = 5s) {
    auto deadline = std::chrono::steady_clock::now() + within;
    std::vector<Frame> frames;
    for (;;) {
        auto left =
            std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{link.poll_fd(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        if (link.receive(frames).state != ReceiveStatus::State::open) return true;
    }
}

std::vector<std::byte> bytes_of(std::string_view text) {
    std::vector<std::byte> out;
    for (char c : text) out.push_back(static_cast<std::byte>(c));
    return out;
}

template <class T>
std::vector<std::byte> frame_to(std::string_view recipient, std::uint8_t flags, const T& message) {
    EnvelopeHeader header;
    header.flags = flags;
    header.correlation = 7;
    header.sender = "test";
    header.recipient = recipient;
    return encode_message(header, message);
}

/// A ListNodes envelope carrying a Lookup payload.
std::vector<std::byte> lookup_payload_as_list_nodes() {
    std::vector<std::byte> payload;
    encode_payload(registry::Lookup{"a-name-where-nothing-is-expected", 0}, payload);
    EnvelopeHeader header;
    header.flags = envelope_flags::request;
    header.type = type_id_of<registry::ListNodes>();
    header.correlation = 7;
    header.sender = "test";
    header.recipient = registry::daemon_name;
    std::vector<std::byte> frame;
    encode_envelope_header(header, payload.size(), frame);
    frame.insert(frame.end(), payload.begin(), payload.end());
    return frame;
}

}  // namespace

TEST_CASE("a bad frame closes that connection and courierd keeps serving the others",
          "[registry][robustness]") {
    TempRuntimeDir dir;
    const auto socket = registry_socket_path(dir.path());
    {
        RegistryClient node(dir.options());
        REQUIRE(node.register_node("steady", {}).ok);
        REQUIRE(node.register_name("steady-actor").ok);

        const std::vector<std::pair<std::string, std::vector<std::byte>>> bad_frames = {
            {"not an envelope", bytes_of("this is not an envelope at all")},
            {"an unknown message type",
             frame_to(registry::daemon_name, envelope_flags::request, NotARegistryMessage{"hi"})},
            {"a payload of the wrong type", lookup_payload_as_list_nodes()},
            {"a request to someone else",
             frame_to("someone-else", envelope_flags::request, registry::ListNodes{})},
            {"a message that is not a request",
             frame_to(registry::daemon_name, 0, registry::ListNodes{})},
        };
        for (const auto& [what, frame] : bad_frames) {
            INFO("sending " << what);
            auto link =
                TransportRegistry::builtin().connect(local_socket_endpoint(socket.string()));
            link->send(frame);
            CHECK(closed_by_peer(*link));
            CHECK(node.lookup("steady-actor").found);
        }

        // Garbage below the framing: raw bytes on the socket.
        int raw = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(raw >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
        REQUIRE(::connect(raw, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
        std::string junk(64, '\xff');
        REQUIRE(::send(raw, junk.data(), junk.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(junk.size()));
        pollfd p{raw, POLLIN, 0};
        REQUIRE(::poll(&p, 1, 5000) == 1);
        char byte = 0;
        CHECK(::recv(raw, &byte, 1, 0) <= 0);
        ::close(raw);

        CHECK(node.list_nodes().nodes.size() == 1);
        RegistryClient another(dir.options());
        CHECK(another.lookup("steady-actor").node == "steady");
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE(
    "a client that sends requests and never reads its answers is disconnected, and "
    "courierd keeps answering the others",
    "[registry][robustness]") {
    TempRuntimeDir dir;
    const auto socket = registry_socket_path(dir.path());
    {
        RegistryClient node(dir.options());
        REQUIRE(node.register_node("steady", {}).ok);
        REQUIRE(node.register_name("steady-actor").ok);

        // 100,000 requests, about 10 MiB of answers, never read. Before, courierd waited
        // for this client to read, and every other client waited for courierd.
        auto deaf = TransportRegistry::builtin().connect(local_socket_endpoint(socket.string()));
        const auto request =
            frame_to(registry::daemon_name, envelope_flags::request, registry::ListNodes{});
        std::size_t sent = 0;
        try {
            for (; sent < 100'000; ++sent) deaf->send(request, {}, 0, /*more=*/true);
            deaf->flush();
        } catch (const LinkError&) {
            // courierd closed it on us: that is the point.
        }
        INFO(sent << " requests sent");
        CHECK(sent > 0);

        // The others are still served, at once.
        RegistryClient other(dir.options());
        CHECK(other.lookup("steady-actor").node == "steady");
        CHECK(node.list_nodes().nodes.size() == 1);
        auto ps = run_command(
            {(bin_dir() / "courier").string(), "ps", "--runtime-dir", dir.path().string()});
        CHECK(ps.exit_code == 0);
        CHECK_THAT(ps.out, Catch::Contains("steady"));
        // And the deaf one was let go.
        CHECK(closed_by_peer(*deaf, 10s));
    }
    REQUIRE(dir.wait_until_empty());
}

namespace {

/// A field of /proc/<pid>/status in KiB (VmRSS, VmHWM).
std::size_t status_kib(pid_t pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    while (status >> key) {
        if (key == field + ":") {
            std::size_t kib = 0;
            status >> kib;
            return kib;
        }
        status.ignore(1 << 12, '\n');
    }
    FAIL("no " << field << " in /proc/" << pid << "/status");
    return 0;
}

}  // namespace

TEST_CASE(
    "400 clients that each announce a 4 MiB frame and send one byte of it cost courierd "
    "less than 32 MiB, and it keeps answering",
    "[registry][robustness][security]") {
#if defined(__SANITIZE_ADDRESS__)
    WARN("not run under AddressSanitizer, whose quarantine keeps freed memory");
    return;
#endif
    TempRuntimeDir dir;
    const auto socket = registry_socket_path(dir.path());
    {
        RegistryClient node(dir.options());
        REQUIRE(node.register_node("steady", {}).ok);
        const pid_t courierd = serving_courierd(dir.path());
        REQUIRE(courierd > 0);
        const std::size_t before = status_kib(courierd, "VmRSS");
        std::vector<int> clients;
        for (int i = 0; i < 400; ++i) {
            int raw = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            REQUIRE(raw >= 0);
            clients.push_back(raw);
            sockaddr_un address{};
            address.sun_family = AF_UNIX;
            std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
            REQUIRE(::connect(raw, reinterpret_cast<const sockaddr*>(&address), sizeof address) ==
                    0);
            // 4 MiB, little-endian, and the frame's first byte.
            const unsigned char start[5] = {0x00, 0x00, 0x40, 0x00, 0x43};
            REQUIRE(::send(raw, start, sizeof start, MSG_NOSIGNAL) == 5);
        }
        // A request after them is answered after courierd read what they sent before it
        // (one reactor, readiness in order).
        CHECK(node.list_nodes().nodes.size() == 1);
        const std::size_t after = status_kib(courierd, "VmRSS");
        INFO("courierd: " << before << " KiB before, " << after << " KiB after");
        CHECK(after < before + 32 * 1024);
        for (int raw : clients) ::close(raw);
    }
    REQUIRE(dir.wait_until_empty());
}
