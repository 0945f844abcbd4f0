#include "test_messages.hpp"

#include <courier/serialization/envelope.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

using courier::decode_envelope;
using courier::DecodeError;
using courier::encode_envelope_header;
using courier::EnvelopeHeader;
namespace flags = courier::envelope_flags;
using Code = DecodeError::Code;

namespace {

std::vector<std::byte> make_frame(const EnvelopeHeader& header,
                                  const std::vector<std::byte>& payload) {
    std::vector<std::byte> frame;
    encode_envelope_header(header, payload.size(), frame);
    frame.insert(frame.end(), payload.begin(), payload.end());
    return frame;
}

EnvelopeHeader sample_header() {
    EnvelopeHeader header;
    header.flags = flags::request;
    header.priority = 7;
    header.type = 0x0123456789abcdefULL;
    header.correlation = 0xfedcba9876543210ULL;
    header.sender = "producer/1";
    header.recipient = "consumer@host-b";
    return header;
}

std::vector<std::byte> sample_frame() {
    return make_frame(sample_header(), courier_test::bytes_of({0xde, 0xad, 0xbe, 0xef}));
}

Code decode_error(const std::vector<std::byte>& frame,
                  const courier::MessageRegistry* registry = nullptr) {
    auto decoded = decode_envelope(frame, registry);
    REQUIRE_FALSE(decoded);
    CHECK_FALSE(decoded.error().message.empty());
    return decoded.error().code;
}

void set_u16(std::vector<std::byte>& frame, std::size_t offset, unsigned value) {
    frame[offset] = static_cast<std::byte>(value & 0xff);
    frame[offset + 1] = static_cast<std::byte>((value >> 8) & 0xff);
}

void set_u32(std::vector<std::byte>& frame, std::size_t offset, std::uint32_t value) {
    for (std::size_t i = 0; i < 4; ++i)
        frame[offset + i] = static_cast<std::byte>((value >> (8 * i)) & 0xff);
}

}  // namespace

TEST_CASE("an envelope round trips every header field", "[serialization][envelope]") {
    auto frame = sample_frame();
    auto decoded = decode_envelope(frame);
    REQUIRE(decoded);
    const auto& header = decoded->header;
    auto expected = sample_header();
    CHECK(header.flags == expected.flags);
    CHECK(header.priority == expected.priority);
    CHECK(header.type == expected.type);
    CHECK(header.correlation == expected.correlation);
    CHECK(header.sender == expected.sender);
    CHECK(header.recipient == expected.recipient);
    REQUIRE(decoded->payload.size() == 4);
    CHECK(decoded->payload[0] == std::byte{0xde});
    CHECK(decoded->payload[3] == std::byte{0xef});
    // Views point into the frame, not into copies.
    CHECK(decoded->payload.data() == frame.data() + frame.size() - 4);
}

TEST_CASE("the envelope header is laid out as docs/protocol.md says", "[serialization][envelope]") {
    auto frame = sample_frame();
    REQUIRE(frame.size() == 32 + 10 + 15 + 4);
    CHECK(frame[0] == std::byte{'C'});
    CHECK(frame[1] == std::byte{'O'});
    CHECK(frame[2] == std::byte{'U'});
    CHECK(frame[3] == std::byte{'R'});
    CHECK(frame[4] == std::byte{1});     // version
    CHECK(frame[5] == std::byte{0x01});  // flags: request
    CHECK(frame[6] == std::byte{7});     // priority
    CHECK(frame[7] == std::byte{0});     // reserved
    CHECK(frame[8] == std::byte{0xef});  // type id, little-endian
    CHECK(frame[15] == std::byte{0x01});
    CHECK(frame[16] == std::byte{0x10});  // correlation id, little-endian
    CHECK(frame[23] == std::byte{0xfe});
    CHECK(frame[24] == std::byte{10});  // sender length
    CHECK(frame[25] == std::byte{0});
    CHECK(frame[26] == std::byte{15});  // recipient length
    CHECK(frame[27] == std::byte{0});
    CHECK(frame[28] == std::byte{4});  // payload length
    CHECK(frame[31] == std::byte{0});
    CHECK(std::memcmp(frame.data() + 32, "producer/1consumer@host-b", 25) == 0);
}

TEST_CASE("an envelope with an empty sender is anonymous", "[serialization][envelope]") {
    auto header = sample_header();
    header.sender = std::string_view{};  // null data(), as an anonymous Letter gives
    auto frame = make_frame(header, {});
    auto decoded = decode_envelope(frame);
    REQUIRE(decoded);
    CHECK(decoded->header.sender.empty());
    CHECK(decoded->header.recipient == "consumer@host-b");
}

TEST_CASE("names of 255 bytes are carried and 256 bytes are refused", "[serialization][envelope]") {
    std::string longest(255, 'n');
    auto header = sample_header();
    header.sender = longest;
    header.recipient = longest;
    auto frame = make_frame(header, {});
    auto decoded = decode_envelope(frame);
    REQUIRE(decoded);
    CHECK(decoded->header.sender == longest);
    CHECK(decoded->header.recipient == longest);

    std::string too_long(256, 'n');
    std::vector<std::byte> out;
    header.recipient = too_long;
    CHECK_THROWS_AS(encode_envelope_header(header, 0, out), std::invalid_argument);
    header.recipient = "ok";
    header.sender = too_long;
    CHECK_THROWS_AS(encode_envelope_header(header, 0, out), std::invalid_argument);

    // A hand-made frame with a 256-byte recipient is refused too.
    auto forged = make_frame(sample_header(), {});
    forged.resize(32);
    set_u16(forged, 24, 0);
    set_u16(forged, 26, 256);
    forged.insert(forged.end(), 256, std::byte{'n'});
    CHECK(decode_error(forged) == Code::bad_name);
}

TEST_CASE("an envelope carries an empty payload and a 1 MiB payload", "[serialization][envelope]") {
    auto empty = make_frame(sample_header(), {});
    auto decoded_empty = decode_envelope(empty);
    REQUIRE(decoded_empty);
    CHECK(decoded_empty->payload.empty());

    std::vector<std::byte> big(std::size_t{1} << 20);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>(i * 31 % 251);
    auto frame = make_frame(sample_header(), big);
    auto decoded = decode_envelope(frame);
    REQUIRE(decoded);
    REQUIRE(decoded->payload.size() == big.size());
    CHECK(std::memcmp(decoded->payload.data(), big.data(), big.size()) == 0);
}

TEST_CASE("a reply envelope keeps the correlation of its request", "[serialization][envelope]") {
    auto header = sample_header();
    header.flags = flags::reply;
    auto decoded = decode_envelope(make_frame(header, {}));
    REQUIRE(decoded);
    CHECK(decoded->header.flags == flags::reply);
    CHECK(decoded->header.correlation == header.correlation);
}

TEST_CASE("valid names are 1 to 255 printable ASCII bytes without spaces",
          "[serialization][envelope]") {
    CHECK(courier::is_valid_name("a"));
    CHECK(courier::is_valid_name("worker/3"));
    CHECK(courier::is_valid_name("ledger@host-b"));
    CHECK(courier::is_valid_name("!~"));
    CHECK_FALSE(courier::is_valid_name(""));
    CHECK_FALSE(courier::is_valid_name("two words"));
    CHECK_FALSE(courier::is_valid_name("tab\there"));
    CHECK_FALSE(courier::is_valid_name(std::string_view("nul\0byte", 8)));
    CHECK_FALSE(courier::is_valid_name("del\x7f"));
    CHECK_FALSE(courier::is_valid_name("caf\xc3\xa9"));
    CHECK_FALSE(courier::is_valid_name(std::string(256, 'a')));
}

TEST_CASE("a name with any byte outside 0x21..0x7e is refused, wherever it is and at any length",
          "[serialization][envelope]") {
    // is_valid_name checks 8 bytes at a time, with overlapping loads at the end: every
    // length up to a few words, and the longest, with every byte value at every position.
    std::vector<std::size_t> lengths;
    for (std::size_t length = 1; length <= 40; ++length) lengths.push_back(length);
    lengths.push_back(courier::max_name_length);
    std::size_t wrong = 0;
    for (std::size_t length : lengths) {
        for (std::size_t at = 0; at < length; ++at) {
            std::string name(length, 'a');
            name.front() = '!';  // the lowest and highest valid bytes around the probe
            name.back() = '~';
            for (int byte = 0; byte < 256; ++byte) {
                name[at] = static_cast<char>(byte);
                const bool valid = byte >= 0x21 && byte <= 0x7e;
                if (courier::is_valid_name(name) != valid) ++wrong;
            }
        }
    }
    CHECK(wrong == 0);
}

TEST_CASE("encoding refuses invalid names", "[serialization][envelope]") {
    std::vector<std::byte> out;
    auto header = sample_header();
    header.recipient = "";
    CHECK_THROWS_AS(encode_envelope_header(header, 0, out), std::invalid_argument);
    header.recipient = "has space";
    CHECK_THROWS_AS(encode_envelope_header(header, 0, out), std::invalid_argument);
    header.recipient = "ok";
    header.sender = "bell\a";
    CHECK_THROWS_AS(encode_envelope_header(header, 0, out), std::invalid_argument);
    CHECK(out.empty());
}

TEST_CASE("an encoder that checked the names itself gets the same bytes, other checks kept",
          "[serialization][envelope]") {
    std::vector<std::byte> checked, trusted;
    encode_envelope_header(sample_header(), 4, checked);
    encode_envelope_header(sample_header(), 4, trusted, courier::NamesChecked{});
    CHECK(trusted == checked);

    std::vector<std::byte> out;
    auto header = sample_header();
    header.flags = flags::request | flags::reply;
    CHECK_THROWS_AS(encode_envelope_header(header, 0, out, courier::NamesChecked{}),
                    std::invalid_argument);
    CHECK_THROWS_AS(
        encode_envelope_header(sample_header(), std::size_t{1} << 32, out, courier::NamesChecked{}),
        std::invalid_argument);
    CHECK(out.empty());
}

TEST_CASE("encoding refuses reserved flags and request with reply", "[serialization][envelope]") {
    std::vector<std::byte> out;
    auto header = sample_header();
    for (unsigned bit = 3; bit < 8; ++bit) {
        header.flags = static_cast<std::uint8_t>(1u << bit);
        CHECK_THROWS_AS(encode_envelope_header(header, 0, out), std::invalid_argument);
    }
    header.flags = flags::request | flags::reply;
    CHECK_THROWS_AS(encode_envelope_header(header, 0, out), std::invalid_argument);
    CHECK(out.empty());
}

TEST_CASE("encoding refuses a payload of 4 GiB or more", "[serialization][envelope]") {
    std::vector<std::byte> out;
    CHECK_THROWS_AS(encode_envelope_header(sample_header(), std::size_t{1} << 32, out),
                    std::invalid_argument);
    CHECK_NOTHROW(encode_envelope_header(sample_header(), 0xffffffffu, out));
}

TEST_CASE("every truncation of a valid frame is an error", "[serialization][envelope]") {
    auto frame = sample_frame();
    for (std::size_t size = 0; size < frame.size(); ++size) {
        INFO("truncated to " << size << " bytes");
        std::vector<std::byte> cut(frame.begin(), frame.begin() + static_cast<long>(size));
        CHECK(decode_error(cut) == Code::truncated);
    }
}

TEST_CASE("a frame that does not start with COUR is refused", "[serialization][envelope]") {
    for (std::size_t at = 0; at < 4; ++at) {
        auto frame = sample_frame();
        frame[at] = std::byte{'x'};
        CHECK(decode_error(frame) == Code::bad_magic);
    }
}

TEST_CASE("a frame of another version is refused", "[serialization][envelope]") {
    for (unsigned version : {0u, 2u, 255u}) {
        auto frame = sample_frame();
        frame[4] = static_cast<std::byte>(version);
        auto decoded = decode_envelope(frame);
        REQUIRE_FALSE(decoded);
        CHECK(decoded.error().code == Code::bad_version);
        CHECK_THAT(decoded.error().message, Catch::Contains(std::to_string(version)));
    }
}

TEST_CASE("a frame with reserved bits set is refused", "[serialization][envelope]") {
    for (unsigned bit = 3; bit < 8; ++bit) {
        auto frame = sample_frame();
        frame[5] = static_cast<std::byte>(1u << bit);
        CHECK(decode_error(frame) == Code::bad_flags);
    }
    auto frame = sample_frame();
    frame[7] = std::byte{1};
    CHECK(decode_error(frame) == Code::bad_flags);
}

TEST_CASE("the credited flag travels with a request or a plain letter",
          "[serialization][envelope]") {
    for (std::uint8_t with : {std::uint8_t{0}, flags::request}) {
        auto header = sample_header();
        header.flags = static_cast<std::uint8_t>(with | flags::credited);
        std::vector<std::byte> frame;
        encode_envelope_header(header, 0, frame);
        auto decoded = decode_envelope(frame);
        REQUIRE(decoded);
        CHECK(decoded->header.flags == header.flags);
    }
}

TEST_CASE("a frame that is both request and reply is refused", "[serialization][envelope]") {
    auto frame = sample_frame();
    frame[5] = std::byte{0x03};
    CHECK(decode_error(frame) == Code::bad_flags);
}

TEST_CASE("lengths larger than the frame are refused as truncated", "[serialization][envelope]") {
    auto frame = sample_frame();
    SECTION("sender length") {
        set_u16(frame, 24, 0xffff);
        CHECK(decode_error(frame) == Code::truncated);
    }
    SECTION("recipient length") {
        set_u16(frame, 26, 0xffff);
        CHECK(decode_error(frame) == Code::truncated);
    }
    SECTION("payload length") {
        set_u32(frame, 28, 0xffffffff);
        CHECK(decode_error(frame) == Code::truncated);
    }
    SECTION("all three at their maximum") {
        set_u16(frame, 24, 0xffff);
        set_u16(frame, 26, 0xffff);
        set_u32(frame, 28, 0xffffffff);
        CHECK(decode_error(frame) == Code::truncated);
    }
}

TEST_CASE("bytes beyond the announced lengths are refused", "[serialization][envelope]") {
    auto frame = sample_frame();
    frame.push_back(std::byte{0});
    auto decoded = decode_envelope(frame);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == Code::length_mismatch);
    CHECK_THAT(decoded.error().message, Catch::Contains("1 bytes beyond"));
}

TEST_CASE("names with spaces or control bytes are refused on decoding",
          "[serialization][envelope]") {
    auto frame = sample_frame();
    // Sender "producer/1" starts at offset 32, recipient "consumer@host-b" at 42.
    SECTION("space in the sender") {
        frame[32 + 3] = std::byte{' '};
        CHECK(decode_error(frame) == Code::bad_name);
    }
    SECTION("control byte in the recipient") {
        frame[42 + 2] = std::byte{0x0a};
        CHECK(decode_error(frame) == Code::bad_name);
    }
    SECTION("NUL in the recipient") {
        frame[42] = std::byte{0};
        CHECK(decode_error(frame) == Code::bad_name);
    }
    SECTION("byte above 0x7e in the sender") {
        frame[32] = std::byte{0x80};
        CHECK(decode_error(frame) == Code::bad_name);
    }
    SECTION("empty recipient") {
        // Move the recipient's 15 bytes into the sender: lengths 25 and 0.
        set_u16(frame, 24, 25);
        set_u16(frame, 26, 0);
        CHECK(decode_error(frame) == Code::bad_name);
    }
}

TEST_CASE("an unknown type is refused only when a registry is given", "[serialization][envelope]") {
    courier::MessageRegistry registry;
    auto frame = sample_frame();
    CHECK(decode_envelope(frame));
    auto decoded = decode_envelope(frame, &registry);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == Code::unknown_type);
    CHECK_THAT(decoded.error().message, Catch::Contains("0123456789abcdef"));
    REQUIRE(registry.add(0x0123456789abcdefULL, "demo.Known"));
    CHECK(decode_envelope(frame, &registry));
}

TEST_CASE("patching the payload length rewrites bytes 28 to 31", "[serialization][envelope]") {
    auto frame = make_frame(sample_header(), {});
    courier::patch_payload_length(frame, 0x01020304);
    CHECK(frame[28] == std::byte{4});
    CHECK(frame[31] == std::byte{1});
    std::vector<std::byte> tiny(31);
    CHECK_THROWS_AS(courier::patch_payload_length(tiny, 0), std::invalid_argument);
    CHECK_THROWS_AS(courier::patch_payload_length(frame, std::size_t{1} << 32),
                    std::invalid_argument);
}

TEST_CASE("every decode error code has a name", "[serialization][envelope]") {
    CHECK(courier::to_string(Code::truncated) == "truncated");
    CHECK(courier::to_string(Code::bad_magic) == "bad_magic");
    CHECK(courier::to_string(Code::bad_version) == "bad_version");
    CHECK(courier::to_string(Code::bad_flags) == "bad_flags");
    CHECK(courier::to_string(Code::length_mismatch) == "length_mismatch");
    CHECK(courier::to_string(Code::bad_name) == "bad_name");
    CHECK(courier::to_string(Code::unknown_type) == "unknown_type");
    CHECK(courier::to_string(Code::bad_payload) == "bad_payload");
}
