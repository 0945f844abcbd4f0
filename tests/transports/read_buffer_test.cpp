// ReadBuffer (transports/src/read_buffer.hpp): the bytes a stream link has read but not
// framed yet. Reads land in room() it does not zero-fill; what is held must survive the
// space being reused or grown.

#include "src/read_buffer.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <string_view>

using courier::detail::ReadBuffer;

namespace {
/// Writes `text` into room() as a read would, and commits it.
void put(ReadBuffer& buffer, std::string_view text) {
    auto room = buffer.room(text.size());
    REQUIRE(room.size() == text.size());
    std::memcpy(room.data(), text.data(), text.size());
    buffer.commit(text.size());
}

std::string_view held(const ReadBuffer& buffer) {
    return {reinterpret_cast<const char*>(buffer.data()), buffer.size()};
}
}  // namespace

TEST_CASE("a read buffer holds what was committed, minus what was consumed", "[read_buffer]") {
    ReadBuffer buffer;
    CHECK(buffer.empty());
    put(buffer, "hello, ");
    put(buffer, "world");
    CHECK(held(buffer) == "hello, world");

    buffer.consume(7);
    CHECK(held(buffer) == "world");
    buffer.truncate(3);
    CHECK(held(buffer) == "wor");
    buffer.consume(3);
    CHECK(buffer.empty());
}

TEST_CASE("a read buffer keeps its unread bytes when it reuses or grows its space",
          "[read_buffer]") {
    ReadBuffer buffer;
    put(buffer, std::string(60, 'a'));
    buffer.consume(50);  // 10 unread, 50 consumed in front of them
    const std::byte* before = buffer.data();

    // Fits once the unread bytes move to the front: same memory, bytes intact.
    put(buffer, std::string(45, 'b'));
    CHECK(held(buffer) == std::string(10, 'a') + std::string(45, 'b'));
    CHECK(buffer.data() < before);

    // Does not fit: new memory, bytes intact.
    put(buffer, std::string(1000, 'c'));
    CHECK(held(buffer) == std::string(10, 'a') + std::string(45, 'b') + std::string(1000, 'c'));

    buffer.release();
    CHECK(buffer.empty());
    put(buffer, "again");
    CHECK(held(buffer) == "again");
}
