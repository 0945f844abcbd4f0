// BufferPool: spare frame buffers go round instead of being freed and allocated again.

#include <courier/transports/buffer_pool.hpp>

#include <catch2/catch.hpp>

using courier::BufferPool;

namespace {
std::vector<std::byte> buffer_of(std::size_t capacity) {
    std::vector<std::byte> buffer;
    buffer.reserve(capacity);
    buffer.resize(capacity / 2);
    return buffer;
}
}  // namespace

TEST_CASE("a buffer given to the pool comes back empty with its memory", "[buffer_pool]") {
    BufferPool pool(1 << 20, 1 << 16);
    CHECK(pool.take().capacity() == 0);  // nothing spare yet: an empty vector, no memory

    auto buffer = buffer_of(100);
    const std::byte* memory = buffer.data();
    pool.give(std::move(buffer));
    CHECK(pool.spare_bytes() == 100);

    auto again = pool.take();
    CHECK(again.data() == memory);
    CHECK(again.capacity() == 100);
    CHECK(again.empty());
    CHECK(pool.spare_bytes() == 0);
    CHECK(pool.take().capacity() == 0);
}

TEST_CASE("the pool keeps no buffer above its largest size or beyond its budget", "[buffer_pool]") {
    BufferPool pool(/*budget=*/1000, /*largest=*/600);
    pool.give(buffer_of(700));  // too large: freed
    pool.give({});              // no memory: nothing to keep
    CHECK(pool.spare_bytes() == 0);

    pool.give(buffer_of(600));
    pool.give(buffer_of(300));
    CHECK(pool.spare_bytes() == 900);
    pool.give(buffer_of(200));  // 1100 > 1000: freed
    CHECK(pool.spare_bytes() == 900);

    std::size_t taken = 0;
    for (auto buffer = pool.take(); buffer.capacity() != 0; buffer = pool.take())
        taken += buffer.capacity();
    CHECK(taken == 900);
    CHECK(pool.spare_bytes() == 0);
}
