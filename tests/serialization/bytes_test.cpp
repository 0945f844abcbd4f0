// courier::Bytes: what it copies and what it does not, its encoding (a std::string's, in
// courier's payloads and in plain Cereal archives), large ranges left out of the frame's
// buffer when sent and viewing the payload when received.

#include <courier/serialization/bytes.hpp>
#include <courier/serialization/codec.hpp>

#include <cereal/archives/binary.hpp>
#include <cereal/archives/portable_binary.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using courier::Bytes;

namespace {

struct Blob {
    std::uint64_t id = 0;
    Bytes data;
    std::uint32_t tail = 0;
    template <class A>
    void serialize(A& a) {
        a(id, data, tail);
    }
};

/// The same message with a std::string where Blob has Bytes: the wire format Bytes must keep.
struct Text {
    std::uint64_t id = 0;
    std::string data;
    std::uint32_t tail = 0;
    template <class A>
    void serialize(A& a) {
        a(id, data, tail);
    }
};

std::vector<std::byte> pattern(std::size_t size, unsigned seed = 7) {
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i) bytes[i] = std::byte((i * 131 + seed) & 0xffU);
    return bytes;
}

std::string as_text(const std::vector<std::byte>& bytes) {
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

/// Keeps a payload's buffer, as a received frame's body does; `alive` watches it.
struct VectorKeeper final : courier::PayloadKeeper {
    std::shared_ptr<std::vector<std::byte>> buffer;
    std::shared_ptr<const void> keep() override { return buffer; }
};

constexpr std::size_t threshold = Bytes::part_threshold;

}  // namespace

TEST_CASE("Bytes takes a moved vector without copying and copies everything else",
          "[serialization][bytes]") {
    auto bytes = pattern(1000);
    const auto* where = bytes.data();
    Bytes moved(std::move(bytes));
    CHECK(moved.data() == where);
    CHECK(moved.size() == 1000);
    CHECK_FALSE(moved.shares_buffer());

    Bytes carried(std::move(moved));  // moving never copies
    CHECK(carried.data() == where);
    CHECK(moved.empty());

    const auto source = pattern(10);
    Bytes copied(source);
    CHECK(copied.data() != source.data());
    CHECK(copied == Bytes(std::span<const std::byte>(source)));
    CHECK(Bytes(std::string_view("hi")).to_string() == "hi");
    CHECK(Bytes(std::string_view("hi")) != Bytes(std::string_view("ho")));
    Bytes copy = carried;
    CHECK(copy == carried);
    CHECK(copy.data() != carried.data());

    // A for_overwrite() Bytes is its owner's to write: a copy takes the bytes as they are.
    Bytes filled = Bytes::for_overwrite(4);
    std::ranges::fill(filled.writable(), std::byte{7});
    Bytes snapshot = filled;
    filled.writable()[0] = std::byte{9};
    CHECK(snapshot.data() != filled.data());
    CHECK(snapshot.span()[0] == std::byte{7});
    CHECK(snapshot.writable().empty());

    auto back = std::move(carried).release();  // owned: moved out again
    CHECK(back.data() == where);
    CHECK(carried.empty());
}

TEST_CASE("a Bytes field encodes exactly as a std::string of the same bytes",
          "[serialization][bytes]") {
    const std::size_t size =
        GENERATE(std::size_t{0}, std::size_t{100}, threshold - 1, threshold, std::size_t{1} << 20);
    const auto bytes = pattern(size);
    std::vector<std::byte> as_string, as_bytes;
    courier::encode_payload(Text{42, as_text(bytes), 9}, as_string);
    courier::encode_payload(Blob{42, Bytes(bytes), 9}, as_bytes);
    CHECK((as_bytes == as_string));

    // Plain Cereal archives too: a size and the bytes.
    std::ostringstream text_stream, bytes_stream;
    {
        cereal::BinaryOutputArchive text_archive(text_stream), bytes_archive(bytes_stream);
        text_archive(Text{1, as_text(bytes), 2});
        bytes_archive(Blob{1, Bytes(bytes), 2});
    }
    CHECK(bytes_stream.str() == text_stream.str());
    std::istringstream in(bytes_stream.str());
    Blob read;
    {
        cereal::BinaryInputArchive archive(in);
        archive(read);
    }
    CHECK((read.data == Bytes(bytes)));
    CHECK(read.tail == 2);
}

TEST_CASE("a large Bytes is left out of the frame's buffer as a part of its own, in place",
          "[serialization][bytes]") {
    const std::size_t size =
        GENERATE(std::size_t{0}, std::size_t{100}, threshold - 1, threshold, std::size_t{1} << 20);
    Blob blob{5, Bytes(pattern(size)), 6};
    std::vector<std::byte> plain;
    courier::encode_payload(blob, plain);

    std::vector<std::byte> buffer;
    std::vector<int> fds;
    courier::ExternalParts parts;
    courier::encode_payload(blob, buffer, fds, parts);
    if (size < threshold) {
        CHECK(parts.empty());
        CHECK((buffer == plain));
        return;
    }
    REQUIRE(parts.ranges().size() == 1);
    CHECK(parts.ranges()[0].bytes.data() == blob.data.data());  // the message's own memory
    CHECK(parts.size() == size);
    CHECK(buffer.size() + size == plain.size());

    // Laid end to end they are the payload: what the link writes.
    std::vector<std::span<const std::byte>> pieces;
    parts.lay_out(buffer, pieces);
    std::vector<std::byte> wire;
    for (auto piece : pieces) wire.insert(wire.end(), piece.begin(), piece.end());
    CHECK((wire == plain));
    std::vector<std::byte> whole{std::byte{7}};  // appended to what is there
    parts.join(buffer, whole);
    CHECK(whole.size() == plain.size() + 1);
    CHECK((std::vector<std::byte>(whole.begin() + 1, whole.end()) == plain));
}

TEST_CASE("a large Bytes decoded with a keeper views the payload and keeps it alive",
          "[serialization][bytes]") {
    const std::size_t size = GENERATE(std::size_t{16} << 10, std::size_t{1} << 20);
    static_assert(threshold == (std::size_t{16} << 10));
    const auto content = pattern(size, 3);
    VectorKeeper keeper;
    keeper.buffer = std::make_shared<std::vector<std::byte>>();
    courier::encode_payload(Blob{1, Bytes(content), 2}, *keeper.buffer);
    const std::span<const std::byte> payload(*keeper.buffer);
    std::weak_ptr<std::vector<std::byte>> alive = keeper.buffer;

    auto decoded = courier::decode_payload<Blob>(payload, {}, &keeper);
    REQUIRE(decoded);
    CHECK((decoded->data == Bytes(content)));
    // Not a copy: its bytes lie in the payload.
    CHECK(decoded->data.data() >= payload.data());
    CHECK(decoded->data.data() + size <= payload.data() + payload.size());
    CHECK(decoded->data.shares_buffer());

    keeper.buffer.reset();  // the frame's body goes: the Bytes still holds the buffer
    CHECK_FALSE(alive.expired());
    CHECK((decoded->data == Bytes(content)));
    Blob moved = std::move(*decoded);
    auto owned = std::move(moved.data).release();  // a copy out, to change it
    CHECK((owned == content));
    CHECK(alive.expired());
}

TEST_CASE("a small Bytes, or one decoded without a keeper, is copied out of the payload",
          "[serialization][bytes]") {
    const std::size_t size = GENERATE(std::size_t{0}, threshold - 1, std::size_t{1} << 20);
    VectorKeeper keeper;
    keeper.buffer = std::make_shared<std::vector<std::byte>>();
    courier::encode_payload(Blob{1, Bytes(pattern(size)), 2}, *keeper.buffer);
    const std::span<const std::byte> payload(*keeper.buffer);
    auto decoded = courier::decode_payload<Blob>(
        payload, {}, size >= threshold ? nullptr : static_cast<courier::PayloadKeeper*>(&keeper));
    REQUIRE(decoded);
    CHECK((decoded->data == Bytes(pattern(size))));
    CHECK_FALSE(decoded->data.shares_buffer());
    CHECK(keeper.buffer.use_count() == 1);
}

TEST_CASE("a Bytes whose size is larger than the payload is refused before it is allocated",
          "[serialization][bytes]") {
    std::vector<std::byte> payload;
    courier::encode_payload(Text{1, std::string(100, 'x'), 2}, payload);
    payload[1 + 8 + 5] = std::byte{0x7f};  // the size's high bytes: about 2^47
    auto decoded = courier::decode_payload<Blob>(payload);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == courier::DecodeError::Code::bad_payload);
}

TEST_CASE("a large for_overwrite Bytes reuses the block of one that is gone", "[bytes]") {
    // One large message after another: the second is written into memory the first wrote
    // (no page faults), not into a fresh block.
    constexpr std::size_t size = std::size_t{1} << 20;
    const std::byte* first = nullptr;
    {
        Bytes gone = Bytes::for_overwrite(size);
        REQUIRE(gone.writable().size() == size);
        std::ranges::fill(gone.writable(), std::byte{1});
        first = gone.data();
    }
    // The stock may hold spares of other tests before it: it is among the first it keeps.
    std::vector<Bytes> made;
    bool reused = false;
    for (std::size_t i = 0; i <= courier::detail::spare_blocks_budget / size && !reused; ++i) {
        made.push_back(Bytes::for_overwrite(size));
        CHECK(made.back().size() == size);
        CHECK(made.back().writable().size() == size);
        reused = made.back().data() == first;
    }
    CHECK(reused);
    // While one lives, its block is its own: another gets a different one.
    Bytes other = Bytes::for_overwrite(size);
    for (const auto& bytes : made) CHECK(other.data() != bytes.data());
}
