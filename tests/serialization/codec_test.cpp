#include "test_messages.hpp"

#include <courier/serialization/codec.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using courier::decode_envelope;
using courier::decode_payload;
using courier::DecodeError;
using courier::encode_message;
using courier::encode_payload;
using courier::EnvelopeHeader;
using courier_test::Order;
using courier_test::Ping;
using Code = DecodeError::Code;

namespace {

EnvelopeHeader header_to(std::string_view recipient) {
    EnvelopeHeader header;
    header.flags = courier::envelope_flags::request;
    header.correlation = 99;
    header.sender = "client";
    header.recipient = recipient;
    return header;
}

template <class T>
std::vector<std::byte> payload_of(const T& value) {
    std::vector<std::byte> out;
    encode_payload(value, out);
    return out;
}

template <class T>
DecodeError payload_error(const std::vector<std::byte>& bytes) {
    auto decoded = decode_payload<T>(bytes);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == Code::bad_payload);
    CHECK_FALSE(decoded.error().message.empty());
    return decoded.error();
}

}  // namespace

TEST_CASE("a message round trips through encode_message, decode_envelope and decode_payload",
          "[serialization][codec]") {
    auto order = courier_test::sample_order();
    auto frame = encode_message(header_to("shop"), order);

    auto envelope = decode_envelope(frame, &courier::MessageRegistry::global());
    REQUIRE(envelope);
    CHECK(envelope->header.type == courier::type_id_of<Order>());
    CHECK(envelope->header.type == courier::type_id_from_name("courier.test.Order"));
    CHECK(envelope->header.correlation == 99);
    CHECK(envelope->header.sender == "client");
    CHECK(envelope->header.recipient == "shop");

    auto decoded = decode_payload<Order>(envelope->payload);
    REQUIRE(decoded);
    CHECK(*decoded == order);
    CHECK(decoded->note == "leave at the door");
    CHECK_FALSE(decoded->deadline.has_value());
    CHECK(decoded->tags[2].size() == 300);
}

TEST_CASE("encode_message sets the type id whatever the header said", "[serialization][codec]") {
    auto header = header_to("shop");
    header.type = 12345;
    auto frame = encode_message(header, Ping{7});
    auto envelope = decode_envelope(frame);
    REQUIRE(envelope);
    CHECK(envelope->header.type == courier::type_id_of<Ping>());
}

TEST_CASE("an empty message and default values round trip", "[serialization][codec]") {
    auto frame = encode_message(header_to("shop"), Order{});
    auto envelope = decode_envelope(frame);
    REQUIRE(envelope);
    auto decoded = decode_payload<Order>(envelope->payload);
    REQUIRE(decoded);
    CHECK(*decoded == Order{});
}

TEST_CASE("a large payload round trips and its length is patched into the header",
          "[serialization][codec]") {
    Order order;
    order.item.assign(std::size_t{1} << 20, 'q');
    order.quantities.assign(50000, 42);
    auto frame = encode_message(header_to("shop"), order);
    auto envelope = decode_envelope(frame);
    REQUIRE(envelope);
    auto decoded = decode_payload<Order>(envelope->payload);
    REQUIRE(decoded);
    CHECK(*decoded == order);
}

TEST_CASE("every truncation of a payload is bad_payload", "[serialization][codec]") {
    auto bytes = payload_of(courier_test::sample_order());
    for (std::size_t size = 0; size < bytes.size(); ++size) {
        INFO("truncated to " << size << " bytes");
        std::vector<std::byte> cut(bytes.begin(), bytes.begin() + static_cast<long>(size));
        payload_error<Order>(cut);
    }
}

TEST_CASE("a payload decoded as the wrong type is bad_payload", "[serialization][codec]") {
    auto order_bytes = payload_of(courier_test::sample_order());
    auto error = payload_error<Ping>(order_bytes);
    CHECK_THAT(error.message, Catch::Contains("left over"));

    auto ping_bytes = payload_of(Ping{0x01020304});
    error = payload_error<Order>(ping_bytes);
    CHECK_THAT(error.message, Catch::Contains("does not decode"));
}

TEST_CASE("a payload with bytes left over is bad_payload", "[serialization][codec]") {
    auto bytes = payload_of(Ping{5});
    bytes.push_back(std::byte{0});
    auto error = payload_error<Ping>(bytes);
    CHECK_THAT(error.message, Catch::Contains("1 bytes left over"));
}

TEST_CASE("a payload is little-endian with a leading byte order byte of 1",
          "[serialization][codec]") {
    CHECK(payload_of(Ping{0x01020304}) == courier_test::bytes_of({0x01, 0x04, 0x03, 0x02, 0x01}));
    // A string: u64 length, then its bytes.
    CHECK(payload_of(std::string("hi")) ==
          courier_test::bytes_of({0x01, 2, 0, 0, 0, 0, 0, 0, 0, 'h', 'i'}));
    // An optional: one byte that is 1 when it is empty, then the value when it is not.
    CHECK(payload_of(std::optional<std::uint16_t>{}) == courier_test::bytes_of({0x01, 0x01}));
    CHECK(payload_of(std::optional<std::uint16_t>{0x0102}) ==
          courier_test::bytes_of({0x01, 0x00, 0x02, 0x01}));
}
