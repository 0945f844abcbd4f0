// What one courierd believes of the other hosts of its federation (HostTable,
// framework/src/registry/host_table.hpp), stepped by hand: the answers a peer host may
// give and the ones that break the protocol (the server then closes its connection,
// docs/protocol.md#between-registries).

#include "registry/host_table.hpp"
#include "registry/protocol_violation.hpp"
#include "registry/registry_protocol.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace courier::registry;

namespace {
HostName entry(std::string name, std::uint64_t incarnation = 1) {
    return HostName{std::move(name), "far", 42, {"tcp://10.0.0.2:7000"}, incarnation};
}
HostNames answer(std::string host, std::vector<HostName> names = {}) {
    return HostNames{std::move(host), 100, std::move(names), {}};
}
}  // namespace

TEST_CASE(
    "a peer host's names resolve by name@host and in config order by their plain name and "
    "go with its connection",
    "[registry][federation]") {
    HostTable table("alpha");
    const auto now = HostTable::Clock::now();
    table.dialed(1, /*order=*/1, now);
    table.dialed(2, /*order=*/0, now);
    CHECK(table.names_of(1, answer("gamma", {entry("echo"), entry("only-gamma")})).size() == 2);
    CHECK(table.names_of(2, answer("beta", {entry("echo")})).size() == 1);

    CHECK(table.find("echo")->host == "beta");  // beta is first in the config
    CHECK(table.find("echo", "gamma")->host == "gamma");
    CHECK(table.find("only-gamma")->host == "gamma");
    CHECK_FALSE(table.find("echo", "delta"));
    CHECK(table.first_holder("echo", 0));
    CHECK_FALSE(table.first_holder("echo", 1));

    // The same registration told again changes nothing; a new one replaces it.
    CHECK(table.name_up(2, entry("echo")).empty());
    const auto replaced = table.name_up(2, entry("echo", 2));
    REQUIRE(replaced.size() == 2);
    CHECK_FALSE(replaced[0].up);
    CHECK(replaced[1].up);
    // A down of a registration it no longer holds tells nothing.
    CHECK(table.name_down(2, HostNameDown{"echo", down_unregistered, 1}).empty());

    const auto gone = table.forget(2, down_host_lost);
    REQUIRE(gone.size() == 1);
    CHECK(gone[0].reason == down_host_lost);
    CHECK(table.find("echo")->host == "gamma");  // the next in order
}

TEST_CASE(
    "a peer host that names itself as this host or as another linked host or tells of "
    "qualified or invalid names or of too many breaks the protocol",
    "[registry][federation]") {
    constexpr std::size_t max_names = 1000;
    HostTable table("alpha", max_names);
    const auto now = HostTable::Clock::now();
    table.dialed(1, 0, now);
    table.dialed(2, 1, now);
    table.dialed(3, 2, now);
    REQUIRE(table.names_of(1, answer("beta")).empty());

    CHECK_THROWS_AS(table.names_of(2, answer("alpha")), ProtocolViolation);  // our own name
    CHECK_THROWS_AS(table.names_of(2, answer("beta")), ProtocolViolation);   // linked already
    CHECK_THROWS_AS(table.names_of(2, answer("be@ta")), ProtocolViolation);
    CHECK_THROWS_AS(table.names_of(1, answer("beta")), ProtocolViolation);  // answered twice
    CHECK_THROWS_AS(table.names_of(2, answer("gamma", {entry("echo@beta")})), ProtocolViolation);
    CHECK_THROWS_AS(table.names_of(2, answer("gamma", {entry("no spaces")})), ProtocolViolation);
    CHECK_THROWS_AS(table.name_up(3, entry("echo")), ProtocolViolation);   // before HostNames
    CHECK_THROWS_AS(table.name_up(99, entry("echo")), ProtocolViolation);  // never dialed
    CHECK(table.host_of(2).empty());  // nothing of the refused answers was kept

    // A host holds a bounded number of names here.
    std::vector<HostName> many;
    many.reserve(max_names + 1);
    for (std::size_t i = 0; i <= max_names; ++i)
        many.push_back(HostName{"name-" + std::to_string(i), "far", 42, {}, 1});
    CHECK_THROWS_AS(table.names_of(2, answer("gamma", many)), ProtocolViolation);
    many.pop_back();
    CHECK(table.names_of(2, answer("gamma", many)).size() == max_names);
    CHECK_THROWS_AS(table.name_up(2, entry("one-more")), ProtocolViolation);
    CHECK(table.name_up(2, entry("name-0", 2)).size() == 2);  // a known name may change
}
