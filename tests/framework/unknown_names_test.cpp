// The cache of names the registry does not know: kept until the name comes up, never
// kept from an answer a NameUp overtook, and bounded.

#include "unknown_names.hpp"

#include <catch2/catch.hpp>

#include <string>

using courier::detail::UnknownNames;

TEST_CASE("a name the registry did not know is remembered until it comes up",
          "[framework][unknown_names]") {
    UnknownNames unknown;
    CHECK_FALSE(unknown.contains("consumer"));
    unknown.add("consumer", unknown.epoch());
    CHECK(unknown.contains("consumer"));
    CHECK_FALSE(unknown.contains("other"));
    unknown.name_up("consumer");
    CHECK_FALSE(unknown.contains("consumer"));
}

TEST_CASE("an answer that a NameUp overtook is not remembered", "[framework][unknown_names]") {
    UnknownNames unknown;
    // The caller reads the epoch, asks; courierd answers "not found", the name is
    // registered, and its NameUp is handled before the caller adds the answer.
    const auto before = unknown.epoch();
    unknown.name_up("consumer");
    unknown.add("consumer", before);
    CHECK_FALSE(unknown.contains("consumer"));
    // Asked again, with nothing in between, it is kept.
    unknown.add("consumer", unknown.epoch());
    CHECK(unknown.contains("consumer"));
}

TEST_CASE("losing the registry forgets every unknown name", "[framework][unknown_names]") {
    UnknownNames unknown;
    const auto before = unknown.epoch();
    unknown.add("a", before);
    unknown.clear();
    CHECK_FALSE(unknown.contains("a"));
    unknown.add("b", before);  // asked before the loss: its promise is gone too
    CHECK_FALSE(unknown.contains("b"));
}

TEST_CASE("the unknown names are bounded", "[framework][unknown_names]") {
    UnknownNames unknown(3);
    for (int i = 0; i < 100; ++i) unknown.add("name-" + std::to_string(i), unknown.epoch());
    int kept = 0;
    for (int i = 0; i < 100; ++i) kept += unknown.contains("name-" + std::to_string(i)) ? 1 : 0;
    CHECK(kept == 3);
    CHECK(unknown.contains("name-99"));  // the newest is always kept
}
