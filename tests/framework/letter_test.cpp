// Letters' bodies: a draft encodes like the body it becomes, and the memory of bodies
// from links goes round through pools instead of malloc.

#include "block_pool.hpp"

#include <courier/courier.hpp>
#include <courier/transports/buffer_pool.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <set>
#include <string>
#include <vector>

namespace lettertest {
struct Note {
    std::string text;
    std::vector<int> numbers;
    template <class A>
    void serialize(A& a) {
        a(text, numbers);
    }
};
struct Big {
    std::array<char, 1000> bytes{};
    template <class A>
    void serialize(A& a) {
        a(bytes);
    }
};
}  // namespace lettertest
COURIER_MESSAGE(lettertest::Note, "courier.test.letter.Note");
COURIER_MESSAGE(lettertest::Big, "courier.test.letter.Big");

using lettertest::Big;
using lettertest::Note;

TEST_CASE("a draft encodes its message as the letter's own body would, and detach moves it",
          "[framework][letter]") {
    Note note{"a text longer than the small-string buffer", {1, 2, 3}};
    courier::detail::DraftOf<Note> draft(note);

    std::vector<std::byte> drafted, owned;
    std::vector<int> fds;
    draft.encode(drafted, fds);
    courier::LocalBody<Note>(note).encode(owned, fds);
    CHECK(drafted == owned);
    CHECK(fds.empty());

    auto body = draft.detach();
    REQUIRE(body->is_local());
    CHECK(static_cast<courier::LocalBody<Note>&>(*body).value.text ==
          "a text longer than the small-string buffer");
    CHECK(note.text.empty());  // moved, not copied
}

TEST_CASE("a letter from a link gives its frame's memory back when it dies",
          "[framework][letter]") {
    auto& pool = courier::BufferPool::frames();
    while (pool.take().capacity() != 0) {
    }  // whatever earlier tests of this process left
    courier::Frame frame;
    frame.bytes.resize(200);
    const std::byte* memory = frame.bytes.data();
    {
        courier::Letter letter;
        const auto payload = std::span<const std::byte>(frame.bytes).subspan(10, 20);
        letter.body = std::make_unique<courier::WireBody>(std::move(frame), payload);
    }
    CHECK(pool.take().data() == memory);  // from this thread's own spares, newest first
}

TEST_CASE("letters from one packed chunk share it, and the last one gives it back",
          "[framework][letter]") {
    auto& pool = courier::BufferPool::frames();
    while (pool.take().capacity() != 0) {
    }
    std::vector<std::byte> chunk(300);
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = std::byte(i % 251);
    const std::byte* memory = chunk.data();
    courier::SharedBytes shared(std::move(chunk));
    std::vector<courier::Letter> letters(3);
    for (std::size_t i = 0; i < letters.size(); ++i) {
        courier::Frame frame;
        frame.shared = shared;
        frame.view = shared.bytes().subspan(100 * i, 100);
        CHECK(frame.data().data() == memory + 100 * i);  // a view, not a copy
        const auto payload = frame.data().subspan(10);
        letters[i].body = std::make_unique<courier::WireBody>(std::move(frame), payload);
    }
    CHECK(shared.use_count() == 4);
    auto& last = static_cast<courier::WireBody&>(*letters[2].body);
    CHECK(last.payload().data() == memory + 210);
    CHECK(last.payload()[0] == std::byte(210 % 251));

    letters.erase(letters.begin(), letters.begin() + 2);
    CHECK(shared.use_count() == 2);
    CHECK(pool.take().capacity() == 0);  // still in use: not given back
    shared = courier::SharedBytes();
    CHECK(pool.take().capacity() == 0);  // the last letter still holds it
    letters.clear();
    CHECK(pool.take().data() == memory);
}

TEST_CASE("a block pool hands spare blocks out again and keeps at most its limit",
          "[framework][letter]") {
    courier::detail::BlockPool pool(/*block_size=*/64, /*limit=*/2);
    void* a = pool.take();  // none spare: new memory
    void* b = pool.take();
    void* c = pool.take();
    CHECK(pool.spares() == 0);
    pool.give(a);
    pool.give(b);
    pool.give(c);  // beyond the limit: freed
    CHECK(pool.spares() == 2);

    std::set<void*> again{pool.take(), pool.take()};
    CHECK(again == std::set<void*>{a, b});
    CHECK(pool.spares() == 0);
    for (void* block : again) pool.give(block);
}

TEST_CASE("a body's storage goes round instead of back to malloc", "[framework][letter]") {
    auto made = std::make_unique<courier::LocalBody<Note>>(Note{"first", {}});
    const void* storage = made.get();
    made.reset();
    // malloc would give the freed memory to the next request of its size: this one.
    void* elsewhere = ::operator new(sizeof(courier::LocalBody<Note>));
    // The next body gets its block back from this thread's spares all the same.
    auto again = std::make_unique<courier::LocalBody<Note>>(Note{"second", {}});
    CHECK(static_cast<const void*>(again.get()) == storage);
    ::operator delete(elsewhere);
    // A body larger than the largest block comes from the heap and goes back to it (the
    // sanitizers' build checks that new and delete match).
    auto big = std::make_unique<courier::LocalBody<Big>>(Big{});
    static_assert(sizeof(courier::LocalBody<Big>) > 512);
    big->value.bytes[999] = 'x';
}
