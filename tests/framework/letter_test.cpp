// Letters' bodies: a draft encodes like the body it becomes, and the memory of bodies
// from links goes round through pools instead of malloc.

#include "block_pool.hpp"
#include "wire_body.hpp"

#include <courier/courier.hpp>
#include <courier/transports/buffer_pool.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

namespace lettertest {
struct Note {
    std::string text;
    std::vector<int> numbers;
    template <class A>
    void serialize(A& a) {
        a(text, numbers);
    }
};
/// A message whose move may throw: it cannot be moved by a letter's noexcept move.
struct Fragile {
    std::string text;
    Fragile() = default;
    explicit Fragile(std::string t) : text(std::move(t)) {}
    Fragile(const Fragile&) = default;
    Fragile(Fragile&& other) noexcept(false) : text(std::move(other.text)) {}
    template <class A>
    void serialize(A& a) {
        a(text);
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
COURIER_MESSAGE(lettertest::Fragile, "courier.test.letter.Fragile");

using lettertest::Big;
using lettertest::Fragile;
using lettertest::Note;

TEST_CASE("a draft encodes its message as the letter's own body would, and detach moves it",
          "[framework][letter]") {
    Note note{"a text longer than the small-string buffer", {1, 2, 3}};
    courier::detail::DraftOf<Note> draft(note);

    std::vector<std::byte> drafted, owned;
    std::vector<int> fds;
    draft.encode(drafted, fds, nullptr);
    courier::detail::LocalBody<Note>(note).encode(owned, fds, nullptr);
    CHECK(drafted == owned);
    CHECK(fds.empty());

    courier::detail::LetterBody body;
    draft.detach(body);
    REQUIRE(body->is_local());
    CHECK(static_cast<courier::detail::LocalBody<Note>&>(*body).value.text ==
          "a text longer than the small-string buffer");
    CHECK(note.text.empty());  // moved, not copied
}

namespace {

/// True when `body` lies within `letter`'s own bytes.
bool inside(const courier::detail::Letter& letter, const courier::detail::Body* body) {
    const auto* begin = reinterpret_cast<const std::byte*>(&letter);
    const auto* at = reinterpret_cast<const std::byte*>(body);
    return std::less_equal<>()(begin, at) && std::less<>()(at, begin + sizeof(letter));
}

}  // namespace

TEST_CASE("a small body lives in its letter and moves with it, a large one stays where it is",
          "[framework][letter]") {
    // A body from a link, with a descriptor: moved twice, it still holds both.
    int ends[2];
    REQUIRE(::pipe(ends) == 0);
    courier::Fd read_end(ends[0]);
    courier::Frame frame;
    frame.bytes.assign(32, std::byte{7});
    frame.fds.emplace_back(ends[1]);
    const std::byte* bytes = frame.bytes.data();
    courier::detail::Letter wire;
    wire.body.emplace<courier::detail::WireBody>(std::move(frame),
                                                 std::span<const std::byte>(bytes + 8, 24));
    CHECK(inside(wire, wire.body.get()));
    courier::detail::Letter moved(std::move(wire));
    courier::detail::Letter again;
    again = std::move(moved);
    CHECK_FALSE(wire.body);
    CHECK_FALSE(moved.body);
    REQUIRE(inside(again, again.body.get()));
    auto& body = static_cast<courier::detail::WireBody&>(*again.body);
    CHECK(body.payload().data() == bytes + 8);  // the frame's buffer did not move
    REQUIRE(body.fds().size() == 1);
    CHECK(::write(body.fds()[0].get(), "x", 1) == 1);  // the descriptor is still open
    again.body.reset();
    char c;
    CHECK(::read(read_end.get(), &c, 1) == 1);
    CHECK(::read(read_end.get(), &c, 1) == 0);  // and closed with the body: end of file

    // A small local message lives in the letter; a large one, or one whose move may throw
    // (a letter moves without throwing), lives in a block of its own that the letter's
    // move hands over.
    auto small = courier::detail::make_letter(
        Note{"a text longer than the small-string buffer", {4}}, "from", "to");
    CHECK(inside(small, small.body.get()));
    auto small_moved = std::move(small);
    CHECK(static_cast<courier::detail::LocalBody<Note>&>(*small_moved.body).value.text ==
          "a text longer than the small-string buffer");
    auto big = courier::detail::make_letter(Big{}, "from", "to");
    auto fragile = courier::detail::make_letter(Fragile{"f"}, "from", "to");
    const courier::detail::Body* big_body = big.body.get();
    CHECK_FALSE(inside(big, big_body));
    CHECK_FALSE(inside(fragile, fragile.body.get()));
    auto big_moved = std::move(big);
    CHECK(big_moved.body.get() == big_body);
    CHECK(static_cast<courier::detail::LocalBody<Fragile>&>(*fragile.body).value.text == "f");
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
        courier::detail::Letter letter;
        const auto payload = std::span<const std::byte>(frame.bytes).subspan(10, 20);
        letter.body.emplace<courier::detail::WireBody>(std::move(frame), payload);
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
    std::vector<courier::detail::Letter> letters(3);
    for (std::size_t i = 0; i < letters.size(); ++i) {
        courier::Frame frame;
        frame.shared = shared;
        frame.view = shared.bytes().subspan(100 * i, 100);
        CHECK(frame.data().data() == memory + 100 * i);  // a view, not a copy
        const auto payload = frame.data().subspan(10);
        letters[i].body.emplace<courier::detail::WireBody>(std::move(frame), payload);
    }
    CHECK(shared.use_count() == 4);
    auto& last = static_cast<courier::detail::WireBody&>(*letters[2].body);
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
    auto made = std::make_unique<courier::detail::LocalBody<Note>>(Note{"first", {}});
    const void* storage = made.get();
    made.reset();
    // malloc would give the freed memory to the next request of its size: this one.
    void* elsewhere = ::operator new(sizeof(courier::detail::LocalBody<Note>));
    // The next body gets its block back from this thread's spares all the same.
    auto again = std::make_unique<courier::detail::LocalBody<Note>>(Note{"second", {}});
    CHECK(static_cast<const void*>(again.get()) == storage);
    ::operator delete(elsewhere);
    // A body larger than the largest block comes from the heap and goes back to it (the
    // sanitizers' build checks that new and delete match).
    auto big = std::make_unique<courier::detail::LocalBody<Big>>(Big{});
    static_assert(sizeof(courier::detail::LocalBody<Big>) > 512);
    big->value.bytes[999] = 'x';
}

TEST_CASE("a large Bytes keeps its frame with a reference whose memory goes round",
          "[framework][letter]") {
    // keep() is called once per large message received (a Bytes of 16 KiB or more
    // viewing its frame): the reference's control block comes from a pool, not malloc.
    courier::Frame frame;
    frame.bytes.resize(1000);
    const std::byte* memory = frame.bytes.data();
    courier::detail::WireBody body(std::move(frame), {memory, 1000});
    auto kept = body.keep();
    const void* block = kept.get();  // inside the control block, at a fixed place
    CHECK(static_cast<const courier::SharedBytes*>(kept.get())->bytes().data() == memory);
    kept.reset();
    // malloc would give the freed memory to the next request of its size: this one.
    void* elsewhere = ::operator new(sizeof(courier::SharedBytes) + 16);  // a control block's size
    auto again = body.keep();
    CHECK(again.get() == block);
    ::operator delete(elsewhere);
}
