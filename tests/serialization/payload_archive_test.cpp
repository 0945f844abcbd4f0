#include "test_messages.hpp"

#include <courier/serialization/codec.hpp>
#include <courier/serialization/payload_archive.hpp>

#include <cereal/types/variant.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
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
