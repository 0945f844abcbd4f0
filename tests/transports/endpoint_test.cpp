#include "transport_fixtures.hpp"

#include <courier/transports/endpoint.hpp>
#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

using courier::Endpoint;

TEST_CASE("an endpoint parses scheme:address and scheme://address", "[transport][endpoint]") {
    CHECK(Endpoint::parse("unix:/run/user/1000/courier/a.sock") ==
          Endpoint{"unix", "/run/user/1000/courier/a.sock"});
    CHECK(Endpoint::parse("unix:@courier-a") == Endpoint{"unix", "@courier-a"});
    CHECK(Endpoint::parse("tcp://127.0.0.1:7000") == Endpoint{"tcp", "127.0.0.1:7000"});
    CHECK(Endpoint::parse("tcp:127.0.0.1:7000") == Endpoint{"tcp", "127.0.0.1:7000"});
    CHECK(Endpoint::parse("unix:///tmp/x.sock") == Endpoint{"unix", "/tmp/x.sock"});
    CHECK(Endpoint::parse("sysv:1234") == Endpoint{"sysv", "1234"});
    CHECK(Endpoint::parse("posixmq:/courier-a") == Endpoint{"posixmq", "/courier-a"});
    CHECK(Endpoint::parse("x1+y.z-w:addr") == Endpoint{"x1+y.z-w", "addr"});
    // Only the first ':' ends the scheme.
    CHECK(Endpoint::parse("unix:/a:b") == Endpoint{"unix", "/a:b"});
}

TEST_CASE("a malformed endpoint is rejected with the reason", "[transport][endpoint]") {
    using Catch::Contains;
    CHECK_THROWS_AS(Endpoint::parse(""), std::invalid_argument);
    CHECK_THROWS_WITH(Endpoint::parse("/tmp/x.sock"), Contains("no ':'"));
    CHECK_THROWS_WITH(Endpoint::parse(":/tmp/x.sock"), Contains("scheme is empty"));
    CHECK_THROWS_WITH(Endpoint::parse("Unix:/x"), Contains("lower-case"));
    CHECK_THROWS_WITH(Endpoint::parse("1unix:/x"), Contains("lower-case"));
    CHECK_THROWS_WITH(Endpoint::parse("un_ix:/x"), Contains("may only hold"));
    CHECK_THROWS_WITH(Endpoint::parse("un ix:/x"), Contains("may only hold"));
    CHECK_THROWS_WITH(Endpoint::parse("unix:"), Contains("address is empty"));
    CHECK_THROWS_WITH(Endpoint::parse("tcp://"), Contains("address is empty"));
    CHECK_THROWS_WITH(Endpoint::parse(std::string("unix:/a\0b", 9)),
                      Contains("NUL") && Contains("unix:/a\\x00b"));
    // The message quotes the URI, so a bad config line is easy to find.
    CHECK_THROWS_WITH(Endpoint::parse("Tcp://h:1"), Contains("\"Tcp://h:1\""));
}

TEST_CASE("to_string gives a URI that parses back to the same endpoint", "[transport][endpoint]") {
    CHECK(Endpoint{"unix", "/tmp/a.sock"}.to_string() == "unix:/tmp/a.sock");
    CHECK(Endpoint{"unix", "@name"}.to_string() == "unix:@name");
    CHECK(Endpoint{"tcp", "127.0.0.1:7000"}.to_string() == "tcp://127.0.0.1:7000");
    CHECK(Endpoint{"sysv", "1234"}.to_string() == "sysv:1234");
    for (const Endpoint& endpoint :
         {Endpoint{"unix", "/tmp/a.sock"}, Endpoint{"unix", "@a"}, Endpoint{"unix", "//double"},
          Endpoint{"tcp", "[::1]:80"}, Endpoint{"unix", "relative.sock"}, Endpoint{"x", "a:b"}}) {
        INFO(endpoint.to_string());
        CHECK(Endpoint::parse(endpoint.to_string()) == endpoint);
    }
}

TEST_CASE("local_socket_endpoint names a socket file that a listener binds and a link reaches",
          "[transport][endpoint]") {
    const courier::test::TempDir dir;
    const auto path = dir.path() / "local.sock";
    const Endpoint endpoint = courier::local_socket_endpoint(path.string());
    const auto& transports = courier::TransportRegistry::builtin();
    {
        auto listener = transports.listen(endpoint);
        CHECK(std::filesystem::is_socket(path));
        auto link = transports.connect(endpoint);
        REQUIRE(link);
        CHECK(Endpoint::parse(endpoint.to_string()) == endpoint);
    }
    CHECK_FALSE(std::filesystem::exists(path));  // the listener removes what it bound
}
