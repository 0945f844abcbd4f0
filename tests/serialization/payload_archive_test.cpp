#include "test_messages.hpp"

#include <courier/serialization/codec.hpp>
#include <courier/serialization/payload_archive.hpp>

#include <cereal/types/base_class.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/variant.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

using courier::decode_payload;
using courier::DecodeError;
using courier_test::bytes_of;
using Code = DecodeError::Code;

namespace {

/// A payload: the byte order byte, then a u64 length, then `tail`.
std::vector<std::byte> forged_length(std::uint64_t length, std::vector<std::byte> tail = {}) {
    std::vector<std::byte> out{std::byte{1}};
    for (std::size_t i = 0; i < 8; ++i) out.push_back(static_cast<std::byte>(length >> (8 * i)));
    out.insert(out.end(), tail.begin(), tail.end());
    return out;
}

template <class T>
std::string refused(const std::vector<std::byte>& bytes) {
    auto decoded = decode_payload<T>(bytes);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == Code::bad_payload);
    return decoded.error().message;
}

/// Saved as a single number with save_minimal/load_minimal, which needs the archive's
/// input-to-output traits.
struct Celsius {
    std::int16_t degrees = 0;
    template <class A>
    std::int16_t save_minimal(const A&) const {
        return degrees;
    }
    template <class A>
    void load_minimal(const A&, const std::int16_t& value) {
        degrees = value;
    }
};

struct Empty {
    template <class A>
    void serialize(A&) {}
};

}  // namespace

TEST_CASE("a forged 2^40 string length fails fast with bad_payload", "[serialization][payload]") {
    auto start = std::chrono::steady_clock::now();
    auto message = refused<std::string>(forged_length(std::uint64_t{1} << 40, bytes_of({'a'})));
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK_THAT(message, Catch::Contains("1099511627776") && Catch::Contains("1 bytes are left"));
    CHECK(elapsed < std::chrono::milliseconds(500));
}

TEST_CASE("forged container lengths are refused before anything is allocated",
          "[serialization][payload]") {
    const std::uint64_t huge = std::uint64_t{1} << 61;  // times 8 overflows 64 bits
    refused<std::vector<std::uint64_t>>(forged_length(huge));
    refused<std::vector<std::string>>(forged_length(huge));
    refused<std::vector<bool>>(forged_length(huge));
    refused<std::map<std::string, std::string>>(forged_length(huge));
    refused<std::unordered_map<std::uint32_t, std::uint32_t>>(forged_length(huge));
    refused<std::vector<std::uint64_t>>(forged_length(~std::uint64_t{0}));
    // Nested: a plausible outer length and a forged inner one.
    auto nested = forged_length(1, forged_length(huge));
    nested.erase(nested.begin() + 9);  // drop the inner byte order byte
    refused<std::vector<std::string>>(nested);
}

TEST_CASE("a length equal to the bytes left is accepted", "[serialization][payload]") {
    auto decoded = decode_payload<std::string>(forged_length(3, bytes_of({'a', 'b', 'c'})));
    REQUIRE(decoded);
    CHECK(*decoded == "abc");
}

TEST_CASE("a bool byte other than 0 or 1 is bad_payload", "[serialization][payload]") {
    CHECK(decode_payload<bool>(bytes_of({1, 0})).value() == false);
    CHECK(decode_payload<bool>(bytes_of({1, 1})).value() == true);
    CHECK_THAT(refused<bool>(bytes_of({1, 2})), Catch::Contains("bool"));
    refused<bool>(bytes_of({1, 0xff}));
    // std::optional's "empty" flag is a bool too.
    refused<std::optional<std::uint8_t>>(bytes_of({1, 7, 0}));
    refused<std::vector<bool>>(forged_length(2, bytes_of({1, 5})));
}

TEST_CASE("a byte order byte other than 0 or 1 is bad_payload", "[serialization][payload]") {
    CHECK_THAT(refused<std::uint8_t>(bytes_of({2, 0})), Catch::Contains("byte order"));
    refused<std::uint8_t>(bytes_of({0xff, 0}));
}

TEST_CASE("a big-endian payload from another Cereal writer is read", "[serialization][payload]") {
    auto decoded = decode_payload<courier_test::Ping>(bytes_of({0, 0x01, 0x02, 0x03, 0x04}));
    REQUIRE(decoded);
    CHECK(decoded->sequence == 0x01020304);
    auto text = decode_payload<std::string>(bytes_of({0, 0, 0, 0, 0, 0, 0, 0, 2, 'o', 'k'}));
    REQUIRE(text);
    CHECK(*text == "ok");
    auto numbers = decode_payload<std::vector<std::uint16_t>>(
        bytes_of({0, 0, 0, 0, 0, 0, 0, 0, 2, 0x12, 0x34, 0xab, 0xcd}));
    REQUIRE(numbers);
    CHECK(*numbers == std::vector<std::uint16_t>{0x1234, 0xabcd});
}

TEST_CASE("a variant index out of range is bad_payload", "[serialization][payload]") {
    using V = std::variant<std::uint8_t, std::string>;
    std::vector<std::byte> good;
    courier::encode_payload(V{std::string("x")}, good);
    auto decoded = decode_payload<V>(good);
    REQUIRE(decoded);
    CHECK(std::get<std::string>(*decoded) == "x");
    refused<V>(bytes_of({1, 2, 0, 0, 0, 9}));
    refused<V>(bytes_of({1, 0xff, 0xff, 0xff, 0xff, 9}));
}

TEST_CASE("types with save_minimal and load_minimal decode", "[serialization][payload]") {
    std::vector<std::byte> bytes;
    courier::encode_payload(Celsius{-40}, bytes);
    auto decoded = decode_payload<Celsius>(bytes);
    REQUIRE(decoded);
    CHECK(decoded->degrees == -40);
}

TEST_CASE("a sequence of zero-byte elements cannot be longer than the bytes left",
          "[serialization][payload]") {
    // The price of the length check: an element that encodes to nothing still counts as
    // one byte. Short sequences of them work.
    std::vector<std::byte> bytes;
    courier::encode_payload(std::vector<Empty>(3), bytes);
    CHECK_FALSE(decode_payload<std::vector<Empty>>(bytes));
    bytes.clear();
    courier::encode_payload(std::vector<Empty>(0), bytes);
    CHECK(decode_payload<std::vector<Empty>>(bytes));
}

TEST_CASE("the archive reports the bytes it has not read", "[serialization][payload]") {
    auto bytes = bytes_of({1, 0x2a, 0, 0, 0, 0xee});
    courier::PayloadInputArchive archive(bytes);
    CHECK(archive.bytes_left() == 5);
    std::uint32_t value = 0;
    archive(value);
    CHECK(value == 42);
    CHECK(archive.bytes_left() == 1);
    CHECK_THROWS_AS(archive(value), cereal::Exception);
}

// ---- One archive per thread, reused from payload to payload ----------------------------

namespace {

/// Cereal writes its class version once per archive.
struct Versioned {
    std::uint32_t value = 0;
    std::uint32_t version_seen = 0;
    template <class A>
    void serialize(A& a, std::uint32_t version) {
        version_seen = version;
        a(value);
    }
};

/// Cereal numbers a shared pointer once per archive and writes a reference after that.
struct Shared {
    std::shared_ptr<std::uint32_t> number;
    template <class A>
    void serialize(A& a) {
        a(number);
    }
};

/// Cereal writes a virtual base once per archive.
struct Root {
    std::uint32_t root = 0;
    template <class A>
    void serialize(A& a) {
        a(root);
    }
};
struct Leaf : virtual Root {
    std::uint32_t leaf = 0;
    template <class A>
    void serialize(A& a) {
        a(cereal::virtual_base_class<Root>(this), leaf);
    }
};

/// Throws half way through its payload.
struct Throws {
    template <class A>
    void serialize(A& a) {
        a(std::uint32_t{7});
        throw std::runtime_error("no");
    }
};

template <class T>
std::vector<std::byte> encoded(const T& value) {
    std::vector<std::byte> out;
    courier::encode_payload(value, out);
    return out;
}

/// Encodes another payload while its own is being encoded.
struct Nested {
    std::vector<std::byte> inner;
    template <class A>
    void serialize(A& a) {
        inner = encoded(courier_test::Ping{11});  // while this archive is lent
        a(std::uint32_t{12});
    }
};

}  // namespace

CEREAL_CLASS_VERSION(Versioned, 3)

TEST_CASE("every payload of a thread's archive is what a fresh archive writes",
          "[serialization][payload]") {
    const auto order = courier_test::sample_order();
    std::vector<std::byte> fresh;
    std::vector<int> fds;
    {
        courier::PayloadOutputArchive archive(fresh, fds);
        archive(order);
    }
    CHECK(encoded(order) == fresh);
    CHECK(encoded(order) == fresh);
    CHECK(encoded(courier_test::Ping{5}) == encoded(courier_test::Ping{5}));
}

TEST_CASE("a class version, a shared pointer and a virtual base are in every payload",
          "[serialization][payload]") {
    // Each payload is decoded by a fresh archive, so each must carry what Cereal writes
    // only once per archive; the plain payloads between them must not change either.
    Versioned versioned{41};
    Shared shared{std::make_shared<std::uint32_t>(42)};
    Leaf leaf;
    leaf.root = 43;
    leaf.leaf = 44;
    const auto order = courier_test::sample_order();
    const auto plain = encoded(order);
    for (int round = 0; round < 3; ++round) {
        auto v = decode_payload<Versioned>(encoded(versioned));
        REQUIRE(v);
        CHECK(v->value == 41);
        CHECK(v->version_seen == 3);
        CHECK(encoded(order) == plain);
        auto s = decode_payload<Shared>(encoded(shared));
        REQUIRE(s);
        REQUIRE(s->number);
        CHECK(*s->number == 42);
        auto l = decode_payload<Leaf>(encoded(leaf));
        REQUIRE(l);
        CHECK(l->root == 43);
        CHECK(l->leaf == 44);
        CHECK(encoded(order) == plain);
    }
}

TEST_CASE("a payload that throws half way leaves the next payload whole",
          "[serialization][payload]") {
    std::vector<std::byte> out;
    CHECK_THROWS_AS(courier::encode_payload(Throws{}, out), std::runtime_error);
    auto ping = decode_payload<courier_test::Ping>(encoded(courier_test::Ping{9}));
    REQUIRE(ping);
    CHECK(ping->sequence == 9);
}

TEST_CASE("a payload encoded from within another one's serialize is whole",
          "[serialization][payload]") {
    Nested nested;
    auto outer = decode_payload<courier_test::Ping>(encoded(nested));
    REQUIRE(outer);
    CHECK(outer->sequence == 12);
    auto inner = decode_payload<courier_test::Ping>(nested.inner);
    REQUIRE(inner);
    CHECK(inner->sequence == 11);
}
