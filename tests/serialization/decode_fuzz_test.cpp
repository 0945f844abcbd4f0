#include "test_messages.hpp"

#include <courier/serialization/codec.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <vector>

using courier::decode_envelope;
using courier::decode_payload;
using courier::EnvelopeHeader;

namespace {

std::vector<std::vector<std::byte>> seed_frames() {
    std::vector<std::vector<std::byte>> frames;
    EnvelopeHeader header;
    header.flags = courier::envelope_flags::request;
    header.priority = 3;
    header.correlation = 77;
    header.sender = "fuzzer";
    header.recipient = "target/1";
    frames.push_back(courier::encode_message(header, courier_test::sample_order()));
    frames.push_back(courier::encode_message(header, courier_test::Order{}));
    header.flags = courier::envelope_flags::reply;
    header.sender = "";
    frames.push_back(courier::encode_message(header, courier_test::Ping{123}));
    return frames;
}

/// What a successful decode must guarantee, whatever the input was.
bool sane(const std::vector<std::byte>& frame, const courier::EnvelopeView& view) {
    const auto* begin = frame.data();
    const auto* end = frame.data() + frame.size();
    if (view.payload.data() < begin || view.payload.data() + view.payload.size() > end)
        return false;
    if (!courier::is_valid_name(view.header.recipient)) return false;
    if (!view.header.sender.empty() && !courier::is_valid_name(view.header.sender)) return false;
    // The encoding is canonical: a frame that decodes re-encodes to the same bytes.
    std::vector<std::byte> again;
    courier::encode_envelope_header(view.header, view.payload.size(), again);
    again.insert(again.end(), view.payload.begin(), view.payload.end());
    return again == frame;
}

}  // namespace

TEST_CASE("decoding frames with random bytes flipped never crashes and never lies",
          "[serialization][fuzz]") {
    const auto seeds = seed_frames();
    std::mt19937_64 random(0xC0u);  // fixed seed: a failure reproduces
    int insane = 0;
    int envelopes = 0;
    int payloads = 0;
    for (int iteration = 0; iteration < 10000; ++iteration) {
        auto frame = seeds[random() % seeds.size()];
        auto flips = 1 + random() % 4;
        for (std::uint64_t i = 0; i < flips; ++i) {
            auto at = random() % frame.size();
            frame[at] ^= static_cast<std::byte>(1 + random() % 255);
        }
        switch (random() % 8) {
            case 0:
                frame.resize(random() % frame.size());
                break;
            case 1:
                frame.push_back(static_cast<std::byte>(random()));
                break;
            default:
                break;
        }
        auto view = decode_envelope(frame, &courier::MessageRegistry::global());
        if (!view) continue;
        ++envelopes;
        if (!sane(frame, *view)) ++insane;
        if (decode_payload<courier_test::Order>(view->payload)) ++payloads;
        if (decode_payload<courier_test::Ping>(view->payload)) ++payloads;
    }
    CHECK(insane == 0);
    // Flips that land in the payload leave the envelope valid, so both paths are exercised.
    CHECK(envelopes > 100);
    INFO(envelopes << " envelopes and " << payloads << " payloads decoded");
    SUCCEED();
}

TEST_CASE("decoding random bytes after a valid header never crashes", "[serialization][fuzz]") {
    std::mt19937_64 random(0xC1u);
    for (int iteration = 0; iteration < 2000; ++iteration) {
        std::vector<std::byte> payload(random() % 64);
        for (auto& b : payload) b = static_cast<std::byte>(random());
        if (!payload.empty() && random() % 2 == 0) payload[0] = std::byte{1};
        auto order = decode_payload<courier_test::Order>(payload);
        if (!order) CHECK(order.error().code == courier::DecodeError::Code::bad_payload);
    }
}
