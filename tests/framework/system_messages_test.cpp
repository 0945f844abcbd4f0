// The framework's own messages on the wire: error codes are checked when read.

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using namespace courier;

namespace {

std::vector<std::byte> payload_of(const DeadLetter& letter) {
    std::vector<std::byte> bytes;
    std::vector<int> fds;
    encode_payload(letter, bytes, fds);
    return bytes;
}

/// A DeadLetter's payload with its code byte replaced by `code`. The byte is found as the
/// one in which two letters differing only in their code differ.
std::vector<std::byte> dead_letter_with_code(std::uint8_t code) {
    auto bytes = payload_of(DeadLetter{"nobody", 42, ErrorCode::unknown_name, "why"});
    const auto other = payload_of(DeadLetter{"nobody", 42, ErrorCode::timeout, "why"});
    REQUIRE(bytes.size() == other.size());
    std::size_t differing = 0, at = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i)
        if (bytes[i] != other[i]) ++differing, at = i;
    REQUIRE(differing == 1);
    bytes[at] = std::byte{code};
    return bytes;
}

}  // namespace

TEST_CASE("every error code travels in a DeadLetter and a Failure and comes back the same",
          "[framework][messages]") {
    for (std::uint8_t value = 0; value < 255; ++value) {
        if (!is_error_code(value)) continue;
        const auto code = static_cast<ErrorCode>(value);
        auto dead = decode_payload<DeadLetter>(dead_letter_with_code(value));
        REQUIRE(dead);
        CHECK(dead->code == code);
        CHECK(to_string(code) != "unknown_error");

        std::vector<std::byte> bytes;
        std::vector<int> fds;
        encode_payload(Failure{code, "message"}, bytes, fds);
        auto failure = decode_payload<Failure>(bytes);
        REQUIRE(failure);
        CHECK(failure->code == code);
    }
}

TEST_CASE("a DeadLetter whose code byte names no error code does not decode",
          "[framework][messages]") {
    for (std::uint8_t value : {std::uint8_t{0}, std::uint8_t{16}, std::uint8_t{200}}) {
        REQUIRE_FALSE(is_error_code(value));
        auto dead = decode_payload<DeadLetter>(dead_letter_with_code(value));
        REQUIRE_FALSE(dead);
        CHECK(dead.error().code == DecodeError::Code::bad_payload);
        CHECK_THAT(dead.error().message,
                   Catch::Contains("unknown error code " + std::to_string(value)));
    }
}

TEST_CASE(
    "a Down travels with its identity, and one whose reason byte names no reason does not "
    "decode",
    "[framework][messages]") {
    Down down{"svc", DownReason::node_exited, "svc-node", 4242, 17, 3, "node 'svc-node' exited"};
    std::vector<std::byte> bytes;
    std::vector<int> fds;
    encode_payload(down, bytes, fds);
    auto back = decode_payload<Down>(bytes);
    REQUIRE(back);
    CHECK(back->name == "svc");
    CHECK(back->reason == DownReason::node_exited);
    CHECK(back->node == "svc-node");
    CHECK(back->pid == 4242);
    CHECK(back->incarnation == 17);
    CHECK(back->monitor == 3);
    CHECK(back->detail == "node 'svc-node' exited");
    CHECK(to_string(DownReason::link_broken) == "link broken");

    // The reason's byte: the one where a Down differing only in its reason differs.
    std::vector<std::byte> other;
    down.reason = DownReason::stopped;
    encode_payload(down, other, fds);
    REQUIRE(other.size() == bytes.size());
    std::size_t differing = 0, at = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i)
        if (bytes[i] != other[i]) ++differing, at = i;
    REQUIRE(differing == 1);
    bytes[at] = std::byte{9};
    auto bad = decode_payload<Down>(bytes);
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message, Catch::Contains("unknown Down reason 9"));
}
