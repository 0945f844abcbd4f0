// BufferPool: spare frame buffers go round instead of being freed and allocated again.

#include <courier/transports/buffer_pool.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

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

TEST_CASE("a small frame is not given a spare far larger than it, which it would pin",
          "[buffer_pool]") {
    BufferPool pool(1 << 20, 1 << 16);
    auto big = buffer_of(60'000);
    const std::byte* memory = big.data();
    pool.give(std::move(big));
    CHECK(pool.take(1000).capacity() == 0);  // 60 kB for 1 kB: it stays spare
    CHECK(pool.spare_bytes() == 60'000);
    auto fits = pool.take(20'000);  // within four times: lent
    CHECK(fits.data() == memory);
    CHECK(pool.spare_bytes() == 0);
}

TEST_CASE("a large frame gets a spare of at least its size and under four times it",
          "[buffer_pool]") {
    // Large buffers of many sizes (a frame's chunks and the frame put together from them)
    // are spare at once: each size finds its own.
    BufferPool pool(std::size_t{64} << 20, std::size_t{4} << 20, 0, std::size_t{64} << 10);
    const std::size_t chunk = (std::size_t{256} << 10) - 8, frame = (std::size_t{1} << 20) + 24;
    std::vector<const std::byte*> chunks, frames;
    for (int i = 0; i < 3; ++i) {
        auto a = buffer_of(chunk);
        chunks.push_back(a.data());
        pool.give(std::move(a));
        auto b = buffer_of(frame);
        frames.push_back(b.data());
        pool.give(std::move(b));
    }
    for (int i = 0; i < 3; ++i) {
        auto whole = pool.take(frame);
        CHECK(whole.capacity() == frame);
        CHECK(std::count(frames.begin(), frames.end(), whole.data()) == 1);
        auto piece = pool.take(chunk);
        CHECK(piece.capacity() == chunk);
        CHECK(std::count(chunks.begin(), chunks.end(), piece.data()) == 1);
    }
    CHECK(pool.spare_bytes() == 0);

    pool.give(buffer_of(frame));
    CHECK(pool.take(200'000).capacity() == 0);      // over four times 200 kB: it stays spare
    CHECK(pool.take(frame + 1).capacity() == 0);    // too small: it stays spare
    CHECK(pool.take(600'000).capacity() == frame);  // under four times: lent
    pool.give(buffer_of(chunk));
    CHECK(pool.take(140'000).capacity() == chunk);  // both in the class of 128-256 KiB

    // The classes share one budget.
    BufferPool tight(std::size_t{3} << 20, std::size_t{4} << 20, 0, std::size_t{64} << 10);
    tight.give(buffer_of(frame));
    tight.give(buffer_of(chunk));
    tight.give(buffer_of(frame));
    tight.give(buffer_of(frame));  // a third MiB is over 3 MiB: freed
    tight.give(buffer_of(chunk));
    CHECK(tight.spare_bytes() == 2 * frame + 2 * chunk);
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

// Per-thread spares (detail::SpareStock): what a thread gives back, it takes back without
// going through the shared stock; a full stock passes half on; large buffers are apart.

TEST_CASE("a thread takes back the buffer it gave without the shared stock", "[buffer_pool]") {
    BufferPool pool(1 << 20, 1 << 16, /*per_thread=*/4, /*small=*/1000);
    auto buffer = buffer_of(100);
    const std::byte* memory = buffer.data();
    pool.give(std::move(buffer));
    CHECK(pool.spare_bytes() == 0);  // kept by this thread

    auto again = pool.take();
    CHECK(again.data() == memory);
    CHECK(again.empty());
    CHECK(pool.take().capacity() == 0);
}

TEST_CASE("a thread's full stock passes its older half to the other threads", "[buffer_pool]") {
    BufferPool pool(1 << 20, 1 << 16, /*per_thread=*/4, /*small=*/1000);
    std::vector<const std::byte*> given;
    for (std::size_t capacity : {101u, 102u, 103u, 104u, 105u}) {
        auto buffer = buffer_of(capacity);
        given.push_back(buffer.data());
        pool.give(std::move(buffer));
    }
    CHECK(pool.spare_bytes() == 101 + 102);  // the fifth found four kept: two went on

    std::vector<std::size_t> taken;
    std::thread other([&] {
        for (auto buffer = pool.take(); buffer.capacity() != 0; buffer = pool.take())
            taken.push_back(buffer.capacity());
    });
    other.join();
    std::sort(taken.begin(), taken.end());
    CHECK(taken == std::vector<std::size_t>{101, 102});
    CHECK(pool.spare_bytes() == 0);

    // This thread still has the other three, newest first.
    CHECK(pool.take().data() == given[4]);
    CHECK(pool.take().data() == given[3]);
    CHECK(pool.take().data() == given[2]);
    CHECK(pool.take().capacity() == 0);
}

TEST_CASE("large buffers are kept apart from small ones and only shared", "[buffer_pool]") {
    BufferPool pool(1 << 20, 1 << 16, /*per_thread=*/4, /*small=*/1000);
    pool.give(buffer_of(5000));  // large: shared at once
    CHECK(pool.spare_bytes() == 5000);
    pool.give(buffer_of(600));
    CHECK(pool.spare_bytes() == 5000);  // small: this thread keeps it

    // A small frame gets the small buffer, a large one the large buffer.
    CHECK(pool.take(100).capacity() == 600);
    CHECK(pool.take().capacity() == 0);  // no small one left: the large one is not used
    std::size_t large = 0;
    std::thread other([&] { large = pool.take(4000).capacity(); });
    other.join();
    CHECK(large == 5000);
    CHECK(pool.spare_bytes() == 0);
}

TEST_CASE("a stock that takes another's place in a thread destroys that one's spares",
          "[buffer_pool]") {
    // Nine pools made one after another: the first and the last share a thread's place
    // (each thread has room for eight stocks of one kind).
    std::vector<std::unique_ptr<BufferPool>> pools;
    for (int i = 0; i < 9; ++i)
        pools.push_back(std::make_unique<BufferPool>(1 << 20, 1 << 16, /*per_thread=*/4));
    auto& first = *pools.front();
    auto& last = *pools.back();
    first.give(buffer_of(100));
    last.give(buffer_of(200));  // the first one's spare goes (freed: the sanitizers check)
    last.give(buffer_of(201));
    CHECK(last.take().capacity() == 201);
    CHECK(first.take().capacity() == 0);  // and taking the place back drops the last one's
    CHECK(last.take().capacity() == 0);
    // A pool between them keeps its own.
    pools[4]->give(buffer_of(300));
    CHECK(pools[4]->take().capacity() == 300);
}
