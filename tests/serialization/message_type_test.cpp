#include <courier/serialization/message_registry.hpp>
#include <courier/serialization/message_type.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace {
struct Registered {
    int value = 0;
    template <class A>
    void serialize(A& a) {
        a(value);
    }
};
}  // namespace

COURIER_MESSAGE(Registered, "courier.test.Registered");

// The line in the type's own namespace, and at global scope for a type of a namespace.
namespace app {
struct Ping {
    int n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
COURIER_MESSAGE(Ping, "courier.test.app.Ping");

struct Pong {
    int n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};

/// Named only by its COURIER_MESSAGE line: nothing in this file calls type_id_of on it.
struct NeverNamed {
    template <class A>
    void serialize(A&) {}
};
COURIER_MESSAGE(NeverNamed, "courier.test.app.NeverNamed");

namespace inner {
struct Deep {
    template <class A>
    void serialize(A&) {}
};
}  // namespace inner
}  // namespace app

COURIER_MESSAGE(app::Pong, "courier.test.app.Pong");

namespace app::inner {
COURIER_MESSAGE(Deep, "courier.test.app.inner.Deep");
}

struct NotAMessage {};

using courier::MessageRegistry;
using courier::type_id_from_name;

TEST_CASE("a type id is the 64-bit FNV-1a hash of the type's name",
          "[serialization][message_type]") {
    // FNV-1a 64: start from the offset basis, then per byte: xor the byte, multiply by
    // the prime 0x100000001b3 modulo 2^64.
    CHECK(type_id_from_name("") == 0xcbf29ce484222325ULL);  // the offset basis itself
    // By hand for "a": 0xcbf29ce484222325 ^ 0x61 = 0xcbf29ce484222344, and
    // 0xcbf29ce484222344 * 0x100000001b3 mod 2^64 = 0xaf63dc4c8601ec8c.
    CHECK(type_id_from_name("a") == 0xaf63dc4c8601ec8cULL);
    // The published FNV test vector.
    CHECK(type_id_from_name("foobar") == 0x85944171f73967e8ULL);
    CHECK(type_id_from_name("courier.registry.Lookup") == 0xc2b6e8dfccaee63fULL);
}

TEST_CASE("a type id is computed at compile time and does not depend on the C++ type",
          "[serialization][message_type]") {
    static_assert(type_id_from_name("courier.test.Registered") ==
                  courier::message_info_v<Registered>.id);
    STATIC_REQUIRE(courier::type_name_of<Registered>() == "courier.test.Registered");
    CHECK(courier::type_id_of<Registered>() == type_id_from_name("courier.test.Registered"));
    CHECK(type_id_from_name("courier.test.Registered") !=
          type_id_from_name("courier.test.registered"));
}

TEST_CASE("COURIER_MESSAGE works in the type's own namespace and at global scope",
          "[serialization][message_type]") {
    STATIC_REQUIRE(courier::Message<app::Ping>);
    STATIC_REQUIRE(courier::Message<app::Pong>);
    STATIC_REQUIRE(courier::Message<app::inner::Deep>);
    STATIC_REQUIRE_FALSE(courier::Message<NotAMessage>);
    STATIC_REQUIRE_FALSE(courier::Message<int>);
    STATIC_REQUIRE(courier::message_info_v<app::Ping>.id ==
                   type_id_from_name("courier.test.app.Ping"));
    STATIC_REQUIRE(courier::type_name_of<app::Pong>() == "courier.test.app.Pong");
    STATIC_REQUIRE(courier::type_name_of<app::inner::Deep>() == "courier.test.app.inner.Deep");
    CHECK(courier::type_id_of<app::Ping>() == type_id_from_name("courier.test.app.Ping"));
    CHECK(courier::type_id_of<app::Pong>() == type_id_from_name("courier.test.app.Pong"));
}

TEST_CASE("COURIER_MESSAGE registers the type at static initialization, before any use",
          "[serialization][registry]") {
    CHECK(MessageRegistry::global().name_of(type_id_from_name("courier.test.app.NeverNamed")) ==
          std::string("courier.test.app.NeverNamed"));
}

TEST_CASE("COURIER_MESSAGE puts the type in the global registry", "[serialization][registry]") {
    auto id = courier::type_id_of<Registered>();
    CHECK(MessageRegistry::global().contains(id));
    CHECK(MessageRegistry::global().name_of(id) == std::string("courier.test.Registered"));
}

TEST_CASE("registering the same name twice is harmless", "[serialization][registry]") {
    MessageRegistry registry;
    auto first = registry.add("demo.Hello");
    auto second = registry.add("demo.Hello");
    REQUIRE(first);
    REQUIRE(second);
    CHECK(*first == *second);
    CHECK(*first == type_id_from_name("demo.Hello"));
    CHECK(registry.contains(*first));
    CHECK(registry.name_of(*first) == std::string("demo.Hello"));
}

TEST_CASE("a different name with the same id is refused with a message naming both",
          "[serialization][registry]") {
    MessageRegistry registry;
    REQUIRE(registry.add(42, "demo.First"));
    auto clash = registry.add(42, "demo.Second");
    REQUIRE_FALSE(clash);
    CHECK_THAT(clash.error(), Catch::Contains("demo.First") && Catch::Contains("demo.Second") &&
                                  Catch::Contains("000000000000002a"));
    CHECK(registry.name_of(42) == std::string("demo.First"));
}

TEST_CASE("a local registry knows only what was added to it", "[serialization][registry]") {
    MessageRegistry registry;
    CHECK_FALSE(registry.contains(type_id_from_name("demo.Missing")));
    CHECK_FALSE(registry.name_of(type_id_from_name("demo.Missing")).has_value());
}
