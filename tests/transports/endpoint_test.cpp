#include "transport_fixtures.hpp"

#include <courier/transports/endpoint.hpp>
#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

using courier::Endpoint;
using courier::EndpointHint;
using courier::TransportRegistry;

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

TEST_CASE(
    "a node's name never reaches a kernel object's name or a path as it is: no '/', "
    "'..', NUL or control byte, and a bounded length, on every transport that listens",
    "[transport][endpoint][security]") {
    const std::vector<std::string> names = {"../../etc/passwd",
                                            "a/b/../../c",
                                            std::string("nul\0byte", 8),
                                            "..",
                                            ".",
                                            std::string(255, 'x'),
                                            "tab\there",
                                            "ok-name_1"};
    for (const auto& name : names) {
        INFO("node name '" << name << "'");
        const EndpointHint hint{name, 4242, "/run/user/1000/courier"};
        const std::string tag = hint.tag();
        CHECK(tag.size() <= 48);
        CHECK(tag.rfind("courier.4242.", 0) == 0);
        CHECK(tag.find('/') == std::string::npos);
        CHECK(tag.find("..") == std::string::npos);
        for (char c : tag)
            CHECK(((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '-' || c == '.'));
        for (const auto& entry : TransportRegistry::builtin().entries()) {
            if (!entry.default_endpoint) continue;
            INFO("transport " << entry.scheme);
            const Endpoint endpoint = entry.default_endpoint(hint);
            // The name is in the tag only, if at all (tcp's is an address and port); what
            // surrounds it is the transport's own.
            if (endpoint.address.find(tag) == std::string::npos) {
                CHECK(endpoint.address.find('/') == std::string::npos);
                continue;
            }
            std::string rest = endpoint.address;
            rest.erase(rest.find(tag), tag.size());
            CHECK(rest.find("..") == std::string::npos);
            if (endpoint.address.front() == '/' && entry.scheme == "fifo")
                CHECK(std::filesystem::path(endpoint.address).parent_path() == hint.runtime_dir);
        }
    }
    // Names that differ only where they were made safe still get different tags.
    CHECK(EndpointHint{"a/b", 1, "/r"}.tag() != EndpointHint{"a_b", 1, "/r"}.tag());
}
