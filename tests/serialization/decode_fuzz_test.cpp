#include "support/fd_support.hpp"
#include "test_messages.hpp"

#include <courier/serialization/codec.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
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

TEST_CASE("decoding mutated payloads with descriptors never leaks or shares one",
          "[serialization][fuzz][fd]") {
    const auto before = courier_test::open_fd_count();
    auto pipe = courier_test::make_pipe();
    std::vector<std::byte> seed;
    {
        courier_test::Handover handover;
        handover.label = "fd";
        handover.first = courier::Fd(::dup(pipe[0]));
        handover.more.emplace_back(::dup(pipe[1]));
        handover.more.emplace_back(::dup(pipe[0]));
        std::vector<int> sent;
        courier::encode_payload(handover, seed, sent);
        REQUIRE(sent.size() == 3);
    }
    std::mt19937_64 random(0xC2u);
    int decoded_ok = 0;
    for (int iteration = 0; iteration < 3000; ++iteration) {
        auto payload = seed;
        // Mostly the index bytes (the last 12 and the 4 after the label), sometimes anywhere.
        auto flips = 1 + random() % 3;
        for (std::uint64_t i = 0; i < flips; ++i) {
            std::size_t at =
                random() % 2 == 0 ? payload.size() - 1 - random() % 12 : random() % payload.size();
            payload[at] ^= static_cast<std::byte>(1 + random() % 255);
        }
        // A frame carries 0 to 4 descriptors, whatever the payload claims.
        std::vector<courier::Fd> received;
        for (std::uint64_t i = random() % 5; i > 0; --i) received.emplace_back(::dup(pipe[0]));
        std::set<int> offered;
        for (const auto& fd : received) offered.insert(fd.get());

        auto decoded = decode_payload<courier_test::Handover>(payload, received);
        if (!decoded) {
            CHECK(decoded.error().code == courier::DecodeError::Code::bad_payload);
            continue;
        }
        ++decoded_ok;
        // Every descriptor in the message is one the frame brought, and none appears twice.
        std::set<int> owned;
        auto own = [&](const courier::Fd& fd) {
            if (!fd) return;
            CHECK(offered.count(fd.get()) == 1);
            CHECK(owned.insert(fd.get()).second);
        };
        own(decoded->first);
        own(decoded->none);
        for (const auto& fd : decoded->more) own(fd);
        for (const auto& fd : received) CHECK((!fd || owned.count(fd.get()) == 0));
    }
    INFO(decoded_ok << " mutated payloads decoded");
    CHECK(decoded_ok > 0);
    ::close(pipe[0]);
    ::close(pipe[1]);
    CHECK(courier_test::open_fd_count() == before);
}
