#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace courier;

namespace {

/// The smallest thing that satisfies the Transport concept.
struct NullTransport {
    static constexpr std::string_view scheme = "null";
    static Capabilities capabilities() { return {}; }
    static std::unique_ptr<Listener> listen(const Endpoint&, const TransportOptions&) {
        return nullptr;
    }
    static std::unique_ptr<Link> connect(const Endpoint&, const TransportOptions&) {
        return nullptr;
    }
};

}  // namespace

TEST_CASE("the builtin registry knows unix: and what it can do", "[transport][registry]") {
    const auto* unix_entry = TransportRegistry::builtin().find("unix");
    REQUIRE(unix_entry != nullptr);
    CHECK(unix_entry->capabilities.fd_passing);
    CHECK_FALSE(unix_entry->capabilities.cross_host);
    CHECK_FALSE(unix_entry->capabilities.priorities);
    CHECK(TransportRegistry::builtin().find("nope") == nullptr);
}

TEST_CASE("an unknown scheme is refused with the list of known ones", "[transport][registry]") {
    const auto& registry = TransportRegistry::builtin();
    const auto endpoint = Endpoint::parse("carrier-pigeon:/loft");
    const std::string expected =
        "unknown transport scheme \"carrier-pigeon\" in endpoint \"carrier-pigeon:/loft\"; "
        "known schemes: unix";
    CHECK_THROWS_AS(registry.listen(endpoint), std::invalid_argument);
    CHECK_THROWS_WITH(registry.listen(endpoint), Catch::StartsWith(expected));
    CHECK_THROWS_WITH(registry.connect(endpoint), Catch::StartsWith(expected));
}

TEST_CASE("a transport is added with one line, and only once", "[transport][registry]") {
    TransportRegistry registry;
    registry.add<NullTransport>();
    REQUIRE(registry.entries().size() == 1);
    CHECK(registry.find("null") != nullptr);
    CHECK(registry.listen(Endpoint{"null", "x"}) == nullptr);
    CHECK_THROWS_AS(registry.add<NullTransport>(), std::logic_error);
}
