#include <courier/serialization/codec.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace {

/// Same name and fields as courier::registry::Lookup (framework/include/courier/framework/
/// registry_protocol.hpp), declared here so this test needs only the serialization layer.
struct LookupExample {
    std::string name;
    std::int64_t wait_ms = 0;
    template <class A>
    void serialize(A& a) {
        a(name, wait_ms);
    }
};

}  // namespace

COURIER_MESSAGE(LookupExample, "courier.registry.Lookup");

// Keep in sync with the worked example in docs/protocol.md.
TEST_CASE("the worked example of docs/protocol.md is what the encoder writes",
          "[serialization][protocol]") {
    const std::vector<unsigned> documented = {
        0x43, 0x4f, 0x55, 0x52, 0x01, 0x01, 0x00, 0x00, 0x3f, 0xe6, 0xae, 0xcc, 0xdf, 0xe8, 0xb6,
        0xc2, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x08, 0x00, 0x19, 0x00,
        0x00, 0x00, 0x6e, 0x6f, 0x64, 0x65, 0x2d, 0x61, 0x63, 0x6f, 0x75, 0x72, 0x69, 0x65, 0x72,
        0x64, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63, 0x6f, 0x6e, 0x73, 0x75,
        0x6d, 0x65, 0x72, 0xfa, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    std::vector<std::byte> expected;
    for (unsigned b : documented) expected.push_back(static_cast<std::byte>(b));

    courier::EnvelopeHeader header;
    header.flags = courier::envelope_flags::request;
    header.correlation = 1;
    header.sender = "node-a";
    header.recipient = "courierd";
    auto frame = courier::encode_message(header, LookupExample{"consumer", 250});
    CHECK(frame == expected);

    auto view = courier::decode_envelope(expected);
    REQUIRE(view);
    CHECK(view->header.type == 0xc2b6e8dfccaee63fULL);
    auto lookup = courier::decode_payload<LookupExample>(view->payload);
    REQUIRE(lookup);
    CHECK(lookup->name == "consumer");
    CHECK(lookup->wait_ms == 250);
}
