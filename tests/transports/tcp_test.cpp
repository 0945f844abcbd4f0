// What tcp: promises beyond the conformance suite: addressing, the port the kernel
// picks, socket options, peers, and errors (docs/transports/tcp.md). Every socket here
// is on 127.0.0.1; no test binds or connects to another address.

#include "transport_fixtures.hpp"

#include <courier/transports/transport.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <system_error>

using namespace courier;
using namespace courier::test;
using State = ReceiveStatus::State;

namespace {

int socket_option(int fd, int level, int name) {
    int value = 0;
    socklen_t size = sizeof(value);
    REQUIRE(::getsockopt(fd, level, name, &value, &size) == 0);
    return value;
}

/// The port of a "127.0.0.1:<port>" address.
unsigned port_of(const Endpoint& endpoint) {
    return static_cast<unsigned>(
        std::stoul(endpoint.address.substr(endpoint.address.rfind(':') + 1)));
}

}  // namespace

TEST_CASE("the builtin registry knows tcp: and what it can do", "[transport][tcp]") {
    const auto* entry = TransportRegistry::builtin().find("tcp");
    REQUIRE(entry != nullptr);
    CHECK(entry->capabilities.cross_host);
    CHECK_FALSE(entry->capabilities.fd_passing);
    CHECK_FALSE(entry->capabilities.priorities);
    CHECK(entry->capabilities.native_frame_limit == Capabilities{}.native_frame_limit);
}

TEST_CASE("port 0 binds a free port and the listener reports it", "[transport][tcp]") {
    auto listener = TransportRegistry::builtin().listen(Endpoint::parse("tcp://127.0.0.1:0"));
    const Endpoint& bound = listener->endpoint();
    CHECK(bound.scheme == "tcp");
    CHECK_THAT(bound.address, Catch::StartsWith("127.0.0.1:"));
    CHECK(port_of(bound) > 0);
    CHECK(port_of(bound) < 65536);
    CHECK(bound.to_string() == "tcp://" + bound.address);
    CHECK(Endpoint::parse(bound.to_string()) == bound);

    SECTION("a second listener on that port is refused") {
        try {
            TransportRegistry::builtin().listen(bound);
            FAIL("the second listen succeeded");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::address_in_use);
            CHECK_THAT(e.what(), Catch::Contains(bound.to_string()));
        }
    }
}

// SO_REUSEADDR: "a listener's port can be bound again at once after it closes", below.
TEST_CASE("links have TCP_NODELAY on both ends", "[transport][tcp]") {
    auto pair = connect_pair(tcp_loopback_endpoint());
    CHECK(socket_option(pair.client->poll_fd(), IPPROTO_TCP, TCP_NODELAY) != 0);
    CHECK(socket_option(pair.server->poll_fd(), IPPROTO_TCP, TCP_NODELAY) != 0);
}

TEST_CASE("peer() names the other end as tcp://host:port", "[transport][tcp]") {
    auto pair = connect_pair(tcp_loopback_endpoint());
    CHECK(pair.client->peer() == pair.listener->endpoint().to_string());
    CHECK_THAT(pair.server->peer(), Catch::StartsWith("tcp://127.0.0.1:"));
    CHECK(pair.server->peer() != pair.client->peer());  // the client's own ephemeral port
}

TEST_CASE("a listener's port can be bound again at once after it closes", "[transport][tcp]") {
    Endpoint bound;
    {
        auto pair = connect_pair(tcp_loopback_endpoint());
        bound = pair.listener->endpoint();
        pair.server->send(pattern(10, 0));
        REQUIRE(receive_frames(*pair.client, 1).frames.size() == 1);
        // The server end closes first, so its side of the connection sits in TIME_WAIT.
        pair.server.reset();
        CHECK(receive_until_end(*pair.client).status.state == State::closed);
    }
    auto again = TransportRegistry::builtin().listen(bound);  // SO_REUSEADDR
    CHECK(again->endpoint() == bound);
}

TEST_CASE("connecting where nobody listens throws ECONNREFUSED", "[transport][tcp]") {
    Endpoint vacant;
    {
        auto listener = TransportRegistry::builtin().listen(tcp_loopback_endpoint());
        vacant = listener->endpoint();
    }
    try {
        TransportRegistry::builtin().connect(vacant);
        FAIL("connect succeeded");
    } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::connection_refused);
        CHECK_THAT(e.what(), Catch::Contains("connect " + vacant.to_string()));
    }
}

TEST_CASE("malformed tcp addresses are refused with the reason", "[transport][tcp]") {
    const auto refuses = [](const char* uri, const char* why) {
        INFO(uri);
        const auto endpoint = Endpoint::parse(uri);
        CHECK_THROWS_AS(TransportRegistry::builtin().listen(endpoint), std::invalid_argument);
        CHECK_THROWS_WITH(TransportRegistry::builtin().connect(endpoint), Catch::Contains(why));
    };
    refuses("tcp://127.0.0.1", "no ':port'");
    refuses("tcp://127.0.0.1:", "no port");
    refuses("tcp://:7000", "the host is empty");
    refuses("tcp://127.0.0.1:65536", "0 to 65535");
    refuses("tcp://127.0.0.1:http", "0 to 65535");
    refuses("tcp://127.0.0.1:-1", "0 to 65535");
    refuses("tcp://::1:7000", "in brackets");
    refuses("tcp://[::1:7000", "closing ']'");
    refuses("tcp://[127.0.0.1]:7000", "not an IPv6 address");
    refuses("tcp://[::1]", "no port");
    refuses("tcp://[::1]7000", "no port");
}
