#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <optional>
#include <stdexcept>

using namespace courier;

namespace {

/// The smallest thing that satisfies the Transport concept.
struct NullTransport {
    static constexpr std::string_view scheme = "null";
    static constexpr int preference_rank = 100;
    static Capabilities capabilities() { return {}; }
    static std::unique_ptr<Listener> listen(const Endpoint&, const TransportOptions&) {
        return nullptr;
    }
    static std::unique_ptr<Link> connect(const Endpoint&, const TransportOptions&) {
        return nullptr;
    }
};

/// A transport with settings; remembers the options its last listen() was given.
struct TunedTransport {
    static constexpr std::string_view scheme = "tuned";
    static constexpr int preference_rank = 100;
    static constexpr SettingSpec depth{"depth", SettingType::integer, 4, 1, "queue depth"};
    static constexpr SettingSpec nap{"nap_us", SettingType::duration, 0, 0, "nap between tries"};
    static constexpr std::array settings{depth, nap};
    static inline std::optional<TransportOptions> last;
    static Capabilities capabilities() { return {}; }
    static std::unique_ptr<Listener> listen(const Endpoint&, const TransportOptions& options) {
        last = options;
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

TEST_CASE("a registry exposes each transport's declared settings", "[transport][registry]") {
    TransportRegistry registry;
    registry.add<NullTransport>();
    registry.add<TunedTransport>();
    CHECK(registry.find("null")->settings.empty());
    const auto* tuned = registry.find("tuned");
    REQUIRE(tuned->settings.size() == 2);
    CHECK(tuned->find_setting("nap_us")->type == SettingType::duration);
    CHECK(tuned->find_setting("max_frame_size") == nullptr);  // generic, not its own

    for (const auto& entry : TransportRegistry::builtin().entries()) {
        INFO(entry.scheme);
        for (const auto& spec : entry.settings) {
            INFO(spec.name);
            CHECK_FALSE(spec.doc.empty());
            CHECK(spec.check(spec.default_value).empty());
        }
    }
}

TEST_CASE("a registry checks a transport's settings before it listens or connects",
          "[transport][registry]") {
    TransportRegistry registry;
    registry.add<TunedTransport>();
    const Endpoint endpoint{"tuned", "x"};

    TransportOptions options;
    options.set(TunedTransport::depth, 9);
    TunedTransport::last.reset();
    registry.listen(endpoint, options);
    REQUIRE(TunedTransport::last);
    CHECK(TunedTransport::last->integer(TunedTransport::depth) == 9);
    CHECK(TunedTransport::last->duration(TunedTransport::nap) == std::chrono::microseconds(0));

    TransportOptions typo;
    typo.settings["dept"] = 2;
    CHECK_THROWS_WITH(registry.listen(endpoint, typo),
                      "transport tuned has no setting \"dept\" (its settings: depth, nap_us)");
    CHECK_THROWS_AS(registry.connect(endpoint, typo), std::invalid_argument);

    TransportOptions too_small;
    too_small.set(TunedTransport::depth, 0);
    CHECK_THROWS_WITH(registry.connect(endpoint, too_small),
                      "setting tuned.depth must be at least 1, not 0");

    TransportOptions no_frames;
    no_frames.max_frame_size = 0;
    CHECK_THROWS_WITH(registry.listen(endpoint, no_frames),
                      "max_frame_size must be at least 1, not 0");
}

TEST_CASE("a transport cannot declare a generic setting or one name twice",
          "[transport][registry]") {
    TransportEntry generic{"a", {}, nullptr, nullptr, {}, {max_frame_size_setting}, {}};
    CHECK_THROWS_AS(TransportRegistry().add(generic), std::logic_error);
    TransportEntry twice{
        "b", {}, nullptr, nullptr, {}, {TunedTransport::depth, TunedTransport::depth}, {}};
    CHECK_THROWS_WITH(TransportRegistry().add(twice),
                      "transport \"b\" declares setting \"depth\" twice");
    SettingSpec bad_default{"odd", SettingType::size, -1, 0, "a default below its minimum"};
    TransportEntry odd{"c", {}, nullptr, nullptr, {}, {bad_default}, {}};
    CHECK_THROWS_AS(TransportRegistry().add(odd), std::logic_error);
}
