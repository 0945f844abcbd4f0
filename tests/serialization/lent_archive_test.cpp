// One Cereal archive per thread and direction, reused from payload to payload while Cereal
// kept nothing (detail::LentArchive, payload_archive.hpp). Each kind of state Cereal keeps
// is tested with payloads encoded or decoded one after another on one thread.

#include "support/fd_support.hpp"
#include "test_messages.hpp"

#include <courier/serialization/codec.hpp>
#include <courier/serialization/payload_archive.hpp>

#include <cereal/types/base_class.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/polymorphic.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

using courier::decode_payload;
using courier::Fd;
using courier::PayloadInputArchive;
using courier::PayloadOutputArchive;
using courier_test::bytes_of;
using courier_test::Ping;

namespace lent_test {

/// Cereal reads and writes its class version once per archive.
struct Versioned {
    std::uint32_t value = 0;
    std::uint32_t version_seen = 0;
    template <class A>
    void serialize(A& a, std::uint32_t version) {
        version_seen = version;
        a(value);
    }
};

/// Versioned, and refuses a zero when loaded (after Cereal read its version).
struct Picky {
    std::uint32_t value = 0;
    template <class A>
    void serialize(A& a, std::uint32_t) {
        a(value);
        if (A::is_loading::value && value == 0) throw std::runtime_error("zero");
    }
};

/// Built by a versioned load_and_construct: Cereal reads the version without showing
/// Built itself to the archive's prologue.
struct Built {
    Built(std::uint32_t v, std::uint32_t version) : value(v), version_seen(version) {}
    std::uint32_t value;
    std::uint32_t version_seen;
    template <class A>
    void save(A& a, std::uint32_t) const {
        a(value);
    }
    template <class A>
    static void load_and_construct(A& a, cereal::construct<Built>& construct,
                                   std::uint32_t version) {
        std::uint32_t value = 0;
        a(value);
        construct(value, version);
    }
};
struct Holder {
    std::unique_ptr<Built> built;
    template <class A>
    void serialize(A& a) {
        a(built);
    }
};

/// Cereal numbers a shared pointer once per archive and writes a reference after that.
struct Shared {
    std::shared_ptr<std::uint32_t> number;
    template <class A>
    void serialize(A& a) {
        a(number);
    }
};

/// Cereal names a polymorphic type once per archive and writes its number after that.
struct Animal {
    virtual ~Animal() = default;
    virtual std::uint32_t legs() const = 0;
};
struct Dog : Animal {
    std::uint32_t count = 4;
    std::uint32_t legs() const override { return count; }
    template <class A>
    void serialize(A& a) {
        a(count);
    }
};
struct Pet {
    std::unique_ptr<Animal> animal;
    template <class A>
    void serialize(A& a) {
        a(animal);
    }
};

/// Cereal writes and reads a virtual base once per archive (on input: per address).
struct Root {
    std::uint32_t root = 0;
    template <class A>
    void serialize(A& a) {
        a(root);
    }
};
struct Leaf : virtual Root {
    std::uint32_t leaf = 0;
    template <class A>
    void serialize(A& a) {
        a(cereal::virtual_base_class<Root>(this), leaf);
    }
};

/// Defers a field and has the archive serialize its deferments at once; an archive keeps
/// every deferment it was given.
struct Deferring {
    std::uint32_t now = 0;
    std::uint32_t later = 0;
    template <class A>
    void serialize(A& a) {
        a(now, cereal::defer(later));
        a.serializeDeferments();
    }
};

/// Throws half way through its payload.
struct Throws {
    template <class A>
    void serialize(A& a) {
        a(std::uint32_t{7});
        throw std::runtime_error("no");
    }
};

template <class T>
std::vector<std::byte> encoded(const T& value) {
    std::vector<std::byte> out;
    courier::encode_payload(value, out);
    return out;
}

/// Encodes another payload while its own is being encoded.
struct Nested {
    std::vector<std::byte> inner;
    template <class A>
    void serialize(A& a) {
        inner = encoded(Ping{11});  // while this archive is lent
        a(std::uint32_t{12});
    }
};

/// Carries a Ping's payload, which its load decodes while its own is being decoded.
struct Wrapper {
    std::vector<std::uint8_t> inner;
    std::uint32_t after = 0;
    std::uint32_t inner_sequence = 0;
    template <class A>
    void save(A& a) const {
        a(inner, after);
    }
    template <class A>
    void load(A& a) {
        a(inner);
        auto ping = decode_payload<Ping>(std::as_bytes(std::span(inner)));
        if (!ping) throw std::runtime_error(ping.error().message);
        inner_sequence = ping->sequence;
        a(after);
    }
};

struct OneFd {
    Fd fd;
    template <class A>
    void serialize(A& a) {
        a(fd);
    }
};

}  // namespace lent_test

CEREAL_CLASS_VERSION(lent_test::Versioned, 3)
CEREAL_CLASS_VERSION(lent_test::Picky, 2)
CEREAL_CLASS_VERSION(lent_test::Built, 5)
CEREAL_REGISTER_TYPE(lent_test::Dog)
CEREAL_REGISTER_POLYMORPHIC_RELATION(lent_test::Animal, lent_test::Dog)

using namespace lent_test;

namespace {

/// What an archive that went on writing would send as its second payload: `first` and
/// `second` written by one archive, the bytes of `second` after a byte order byte. Cereal
/// writes in them references to what it numbered in `first`.
template <class T>
std::vector<std::byte> written_after(const T& first, const T& second) {
    std::vector<std::byte> alone;
    std::vector<std::byte> both;
    std::vector<int> fds;
    {
        PayloadOutputArchive archive(alone, fds);
        archive(first);
    }
    {
        PayloadOutputArchive archive(both, fds);
        archive(first, second);
    }
    // From the last byte of `first`, which becomes the byte order byte.
    std::vector<std::byte> out(both.begin() + static_cast<std::ptrdiff_t>(alone.size()) - 1,
                               both.end());
    out.front() = std::byte{1};
    return out;
}

template <class Archive>
const Archive* thread_archive() {
    auto& slot = courier::detail::this_thread_archive<Archive>();
    return slot.archive ? &*slot.archive : nullptr;
}

}  // namespace

// ---- Encoding ----------------------------------------------------------------------------

TEST_CASE("every payload of a thread's archive is what a fresh archive writes",
          "[serialization][payload]") {
    const auto order = courier_test::sample_order();
    std::vector<std::byte> fresh;
    std::vector<int> fds;
    {
        PayloadOutputArchive archive(fresh, fds);
        archive(order);
    }
    CHECK(encoded(order) == fresh);
    CHECK(encoded(order) == fresh);
    CHECK(encoded(Ping{5}) == encoded(Ping{5}));
}

TEST_CASE("plain payloads are encoded by the thread's one archive", "[serialization][payload]") {
    encoded(Ping{1});
    const auto* archive = thread_archive<PayloadOutputArchive>();
    REQUIRE(archive != nullptr);
    encoded(courier_test::sample_order());
    CHECK(thread_archive<PayloadOutputArchive>() == archive);
    encoded(Versioned{1});  // kept its version: let go
    CHECK(thread_archive<PayloadOutputArchive>() == nullptr);
    encoded(Ping{1});
    CHECK(thread_archive<PayloadOutputArchive>() != nullptr);
}

TEST_CASE("a class version, a shared pointer and a virtual base are in every payload",
          "[serialization][payload]") {
    // Each payload is decoded by a fresh archive, so each must carry what Cereal writes
    // only once per archive; the plain payloads between them must not change either.
    Versioned versioned{41};
    Shared shared{std::make_shared<std::uint32_t>(42)};
    Leaf leaf;
    leaf.root = 43;
    leaf.leaf = 44;
    const auto order = courier_test::sample_order();
    const auto plain = encoded(order);
    for (int round = 0; round < 3; ++round) {
        auto v = decode_payload<Versioned>(encoded(versioned));
        REQUIRE(v);
        CHECK(v->value == 41);
        CHECK(v->version_seen == 3);
        CHECK(encoded(order) == plain);
        auto s = decode_payload<Shared>(encoded(shared));
        REQUIRE(s);
        REQUIRE(s->number);
        CHECK(*s->number == 42);
        auto l = decode_payload<Leaf>(encoded(leaf));
        REQUIRE(l);
        CHECK(l->root == 43);
        CHECK(l->leaf == 44);
        CHECK(encoded(order) == plain);
    }
}

TEST_CASE("a payload that throws half way leaves the next payload whole",
          "[serialization][payload]") {
    std::vector<std::byte> out;
    CHECK_THROWS_AS(courier::encode_payload(Throws{}, out), std::runtime_error);
    auto ping = decode_payload<Ping>(encoded(courier_test::Ping{9}));
    REQUIRE(ping);
    CHECK(ping->sequence == 9);
}

TEST_CASE("a payload encoded from within another one's serialize is whole",
          "[serialization][payload]") {
    Nested nested;
    auto outer = decode_payload<Ping>(encoded(nested));
    REQUIRE(outer);
    CHECK(outer->sequence == 12);
    auto inner = decode_payload<Ping>(nested.inner);
    REQUIRE(inner);
    CHECK(inner->sequence == 11);
}

// ---- Decoding ----------------------------------------------------------------------------

TEST_CASE("plain payloads are decoded by the thread's one archive", "[serialization][payload]") {
    REQUIRE(decode_payload<Ping>(encoded(Ping{1})));
    const auto* archive = thread_archive<PayloadInputArchive>();
    REQUIRE(archive != nullptr);
    const auto order = courier_test::sample_order();
    CHECK(decode_payload<courier_test::Order>(encoded(order)).value() == order);
    CHECK(thread_archive<PayloadInputArchive>() == archive);
    REQUIRE(decode_payload<Versioned>(encoded(Versioned{1})));  // kept its version: let go
    CHECK(thread_archive<PayloadInputArchive>() == nullptr);
    REQUIRE(decode_payload<Ping>(encoded(Ping{1})));
    CHECK(thread_archive<PayloadInputArchive>() != nullptr);
}

TEST_CASE("every payload's class version is read", "[serialization][payload]") {
    // An archive that remembered the version would read the next payload's as its value.
    const auto order = courier_test::sample_order();
    for (std::uint32_t round = 0; round < 3; ++round) {
        auto v = decode_payload<Versioned>(encoded(Versioned{41 + round}));
        REQUIRE(v);
        CHECK(v->value == 41 + round);
        CHECK(v->version_seen == 3);
        CHECK(decode_payload<courier_test::Order>(encoded(order)).value() == order);
    }
}

TEST_CASE("a class version read by load_and_construct is read for every payload",
          "[serialization][payload]") {
    for (std::uint32_t round = 0; round < 3; ++round) {
        Holder holder;
        holder.built = std::make_unique<Built>(50 + round, 0);
        auto h = decode_payload<Holder>(encoded(holder));
        REQUIRE(h);
        REQUIRE(h->built);
        CHECK(h->built->value == 50 + round);
        CHECK(h->built->version_seen == 5);
    }
}

TEST_CASE("a decoded shared pointer belongs to its payload alone", "[serialization][payload]") {
    // The archive must not keep the object alive after the payload...
    std::weak_ptr<std::uint32_t> decoded;
    {
        auto s = decode_payload<Shared>(encoded(Shared{std::make_shared<std::uint32_t>(42)}));
        REQUIRE(s);
        REQUIRE(s->number);
        CHECK(*s->number == 42);
        decoded = s->number;
    }
    CHECK(decoded.expired());
    // ...nor let a later payload name it: a reference to pointer 1, which that payload
    // never defined, is what a fresh archive refuses.
    const Shared shared{std::make_shared<std::uint32_t>(43)};
    for (int round = 0; round < 2; ++round) {
        auto first = decode_payload<Shared>(encoded(shared));
        REQUIRE(first);
        CHECK(*first->number == 43);
        auto second = decode_payload<Shared>(written_after(shared, shared));
        REQUIRE_FALSE(second);
        CHECK_THAT(second.error().message, Catch::Contains("Could not find id 1"));
    }
}

TEST_CASE("a payload cannot name a polymorphic type that an earlier one named",
          "[serialization][payload]") {
    Pet pet;
    pet.animal = std::make_unique<Dog>();
    for (std::uint32_t round = 0; round < 2; ++round) {
        static_cast<Dog&>(*pet.animal).count = 3 + round;
        auto first = decode_payload<Pet>(encoded(pet));
        REQUIRE(first);
        REQUIRE(first->animal);
        CHECK(first->animal->legs() == 3 + round);
        auto second = decode_payload<Pet>(written_after(pet, pet));
        REQUIRE_FALSE(second);
        CHECK_THAT(second.error().message, Catch::Contains("Could not find type id 1"));
    }
}

TEST_CASE("a virtual base is read for every payload", "[serialization][payload]") {
    // Cereal notes a virtual base it read by its address; decode_payload decodes into the
    // same place each time, so a remembered base would be skipped.
    for (std::uint32_t round = 0; round < 3; ++round) {
        Leaf leaf;
        leaf.root = 43 + round;
        leaf.leaf = 44 + round;
        auto l = decode_payload<Leaf>(encoded(leaf));
        REQUIRE(l);
        CHECK(l->root == 43 + round);
        CHECK(l->leaf == 44 + round);
    }
}

TEST_CASE("only a payload's own deferred data is read", "[serialization][payload]") {
    // An archive that kept the last payload's deferment would run it again, reading into a
    // value that is gone.
    for (std::uint32_t round = 0; round < 3; ++round) {
        auto d = decode_payload<Deferring>(encoded(Deferring{60 + round, 70 + round}));
        REQUIRE(d);
        CHECK(d->now == 60 + round);
        CHECK(d->later == 70 + round);
    }
}

TEST_CASE("a payload that fails to decode half way leaves nothing for the next",
          "[serialization][payload]") {
    SECTION("truncated after Cereal numbered a shared pointer") {
        const Shared shared{std::make_shared<std::uint32_t>(42)};
        auto truncated = encoded(shared);
        truncated.pop_back();
        REQUIRE_FALSE(decode_payload<Shared>(truncated));
        CHECK_FALSE(decode_payload<Shared>(written_after(shared, shared)));
    }
    SECTION("truncated after Cereal read a class version") {
        auto truncated = encoded(Versioned{41});
        truncated.pop_back();
        REQUIRE_FALSE(decode_payload<Versioned>(truncated));
        auto v = decode_payload<Versioned>(encoded(Versioned{42}));
        REQUIRE(v);
        CHECK(v->value == 42);
    }
    SECTION("a load that throws after Cereal read a class version") {
        auto refused = decode_payload<Picky>(encoded(Picky{0}));
        REQUIRE_FALSE(refused);
        CHECK_THAT(refused.error().message, Catch::Contains("zero"));
        auto p = decode_payload<Picky>(encoded(Picky{5}));
        REQUIRE(p);
        CHECK(p->value == 5);
    }
}

TEST_CASE("a payload decoded from within another one's load is whole", "[serialization][payload]") {
    const auto ping = encoded(Ping{21});
    Wrapper wrapper;
    for (auto b : ping) wrapper.inner.push_back(static_cast<std::uint8_t>(b));
    wrapper.after = 22;
    for (int round = 0; round < 2; ++round) {
        auto w = decode_payload<Wrapper>(encoded(wrapper));
        REQUIRE(w);
        CHECK(w->inner_sequence == 21);
        CHECK(w->after == 22);
    }
    CHECK(courier::detail::this_thread_archive<PayloadInputArchive>().lent == false);
}

TEST_CASE("each payload is read from its own bytes, byte order and descriptors",
          "[serialization][payload]") {
    SECTION("bytes") {
        const auto order = courier_test::sample_order();
        auto whole = encoded(order);
        REQUIRE(decode_payload<courier_test::Order>(whole));
        CHECK(decode_payload<Ping>(bytes_of({1, 5, 0, 0, 0})).value().sequence == 5);
        REQUIRE(decode_payload<courier_test::Order>(whole));
        whole.pop_back();
        auto truncated = decode_payload<courier_test::Order>(whole);
        REQUIRE_FALSE(truncated);
        CHECK_THAT(truncated.error().message, Catch::Contains("ends early"));
    }
    SECTION("byte order") {
        CHECK(decode_payload<Ping>(bytes_of({0, 1, 2, 3, 4})).value().sequence == 0x01020304);
        CHECK(decode_payload<Ping>(bytes_of({1, 1, 2, 3, 4})).value().sequence == 0x04030201);
    }
    SECTION("descriptors") {
        const auto payload = bytes_of({1, 0, 0, 0, 0});  // an Fd field naming descriptor 0
        auto a = courier_test::make_pipe();
        auto b = courier_test::make_pipe();
        Fd a_write(a[1]);
        Fd b_write(b[1]);
        std::vector<Fd> first;
        first.emplace_back(a[0]);
        std::vector<Fd> second;
        second.emplace_back(b[0]);
        auto from_first = decode_payload<OneFd>(payload, first);
        REQUIRE(from_first);
        CHECK(from_first->fd.get() == a[0]);
        auto from_second = decode_payload<OneFd>(payload, second);
        REQUIRE(from_second);
        CHECK(from_second->fd.get() == b[0]);
        auto from_none = decode_payload<OneFd>(payload);
        REQUIRE_FALSE(from_none);
        CHECK_THAT(from_none.error().message, Catch::Contains("carries 0"));
    }
}
