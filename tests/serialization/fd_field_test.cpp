#include "support/fd_support.hpp"
#include "test_messages.hpp"

#include <courier/fd.hpp>
#include <courier/serialization/codec.hpp>

#include <unistd.h>
#include <catch2/catch.hpp>

#include <stdexcept>
#include <vector>

using courier::decode_payload;
using courier::DecodeError;
using courier::Fd;
using courier_test::bytes_of;
using courier_test::Handover;
using courier_test::is_open;

namespace {

/// What a receiver gets: its own descriptors (dups) for what the sender listed.
std::vector<Fd> received_copies(const std::vector<int>& sent) {
    std::vector<Fd> fds;
    for (int fd : sent) fds.emplace_back(::dup(fd));
    return fds;
}

Handover sample_handover() {
    auto a = courier_test::make_pipe();
    auto b = courier_test::make_pipe();
    Handover handover;
    handover.label.push_back('x');  // (assigning "x" trips GCC 12's false -Wrestrict)
    handover.first = Fd(a[0]);
    handover.more.emplace_back(a[1]);
    handover.more.emplace_back(b[0]);
    ::close(b[1]);
    return handover;
}

}  // namespace

TEST_CASE("Fd fields encode as indexes into the frame's descriptor list, in field order",
          "[serialization][fd]") {
    auto handover = sample_handover();
    std::vector<std::byte> payload;
    std::vector<int> fds;
    courier::encode_payload(handover, payload, fds);

    // Borrowed, not taken: the message still owns every descriptor.
    CHECK(fds ==
          std::vector<int>{handover.first.get(), handover.more[0].get(), handover.more[1].get()});
    CHECK(handover.first);
    // byte order, "x" (u64 length + byte), first = 0, none = 0xffffffff, more = [1, 2].
    CHECK(payload == bytes_of({1,    1, 0, 0, 0, 0, 0, 0, 0, 'x', 0, 0, 0, 0, 0xff, 0xff, 0xff,
                               0xff, 2, 0, 0, 0, 0, 0, 0, 0, 1,   0, 0, 0, 2, 0,    0,    0}));
}

TEST_CASE("a decoded message owns the descriptors its fields name", "[serialization][fd]") {
    const auto before = courier_test::open_fd_count();
    {
        auto handover = sample_handover();
        std::vector<std::byte> payload;
        std::vector<int> sent;
        courier::encode_payload(handover, payload, sent);
        auto received = received_copies(sent);
        const std::vector<int> raw{received[0].get(), received[1].get(), received[2].get()};

        auto decoded = decode_payload<Handover>(payload, received);
        REQUIRE(decoded);
        CHECK(decoded->label == "x");
        CHECK(decoded->first.get() == raw[0]);
        CHECK_FALSE(decoded->none);
        REQUIRE(decoded->more.size() == 2);
        CHECK(decoded->more[0].get() == raw[1]);
        CHECK(decoded->more[1].get() == raw[2]);
        for (const auto& slot : received) CHECK_FALSE(slot);  // all taken

        // The descriptors work: what goes into the received write end comes out of the
        // sender's read end.
        CHECK(::write(decoded->more[0].get(), "hi", 2) == 2);
        char got[2] = {};
        CHECK(::read(handover.first.get(), got, 2) == 2);
        CHECK(std::string(got, 2) == "hi");
    }
    CHECK(courier_test::open_fd_count() == before);
}

TEST_CASE("descriptors no field names stay with the caller, which closes them",
          "[serialization][fd]") {
    auto pipe = courier_test::make_pipe();
    Handover plain;
    plain.label = "no fds";
    plain.first = Fd(pipe[0]);
    std::vector<std::byte> payload;
    std::vector<int> sent;
    courier::encode_payload(plain, payload, sent);
    auto received = received_copies({pipe[0], pipe[1]});  // one more than the payload names
    const int extra = received[1].get();
    auto decoded = decode_payload<Handover>(payload, received);
    REQUIRE(decoded);
    CHECK_FALSE(received[0]);
    CHECK(received[1].get() == extra);
    received.clear();
    CHECK_FALSE(is_open(extra));
    ::close(pipe[1]);
}

TEST_CASE("a descriptor index past the list, or used twice, is bad_payload",
          "[serialization][fd]") {
    const auto before = courier_test::open_fd_count();
    {
        auto pipe = courier_test::make_pipe();
        std::vector<Fd> received;
        received.emplace_back(pipe[0]);
        received.emplace_back(pipe[1]);
        // "x", first = 0, none = empty, more = [0]: index 0 twice.
        auto twice = bytes_of({1,    1,    0,    0, 0, 0, 0, 0, 0, 'x', 0, 0, 0, 0, 0xff,
                               0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0,   0, 0, 0, 0, 0});
        auto decoded = decode_payload<Handover>(twice, received);
        REQUIRE_FALSE(decoded);
        CHECK(decoded.error().code == DecodeError::Code::bad_payload);
        CHECK_THAT(decoded.error().message, Catch::Contains("descriptor 0 twice"));
        // The half-decoded message closed the descriptor it had taken; the other stays.
        CHECK_FALSE(is_open(pipe[0]));
        CHECK(received[1]);

        auto past = bytes_of({1, 1,    0,    0,    0,    0, 0, 0, 0, 'x', 2, 0, 0,
                              0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0,   0, 0, 0});
        decoded = decode_payload<Handover>(past, received);
        REQUIRE_FALSE(decoded);
        CHECK(decoded.error().code == DecodeError::Code::bad_payload);
        CHECK_THAT(decoded.error().message,
                   Catch::Contains("descriptor 2") && Catch::Contains("carries 2"));
        // Without a list (a frame that came with no descriptors) every index is past it.
        CHECK_FALSE(decode_payload<Handover>(past));
    }
    CHECK(courier_test::open_fd_count() == before);
}

TEST_CASE("encoding a message that holds descriptors without collecting them is refused",
          "[serialization][fd]") {
    auto handover = sample_handover();
    std::vector<std::byte> payload;
    CHECK_THROWS_AS(courier::encode_payload(handover, payload), std::invalid_argument);
    courier::EnvelopeHeader header;
    header.recipient = "somebody";
    CHECK_THROWS_WITH(courier::encode_message(header, handover),
                      Catch::Contains("courier.test.Handover holds file descriptors"));
    // Empty Fd fields are no descriptors: this one encodes anywhere.
    CHECK_NOTHROW(courier::encode_message(header, Handover{}));
}
