// Actor placement (docs/multihost.md, "Actors on another host"), with two "hosts" on
// loopback: a node of beta offers an actor kind (Node::offer), and a node of alpha starts
// actors of it there by the host's name (Node::spawn_on), each answering by name@host
// until stop_placed stops it or what it is bound to goes. A kind not offered, a taken
// name, arguments the kind refuses, a host that is not up and a node with another cookie
// each get their own error, and nothing starts.

#include "federation_support.hpp"
#include "spawn_messages.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace courier;
using namespace courier::test;

namespace {

/// The kind beta offers: an echo that adds its one argument to what it is sent.
std::function<void(Actor&)> adder(const std::vector<std::string>& args) {
    if (args.size() != 1) throw std::invalid_argument("an adder takes one argument, its step");
    const std::int64_t step = std::stoll(args.front());
    return [step](Actor& self) {
        self.handle(
            [&self, step](spawn_wire::Ping& p) { self.reply(spawn_wire::Pong{p.n + step}); });
    };
}

/// alpha and beta on loopback, a node of beta offering `adder`: runs `body` with a node of
/// alpha named `node` and a client of alpha's courierd, once alpha sees beta's offer.
void offered_on_beta(const char* node,
                     const std::function<void(Node&, RegistryClient&, LoopbackPair&)>& body) {
    LoopbackPair hosts;
    {
        Node offering(hosts.b.node("offering"));
        offering.offer("adder", adder);
        Node near(hosts.a.node(node));
        RegistryClient alpha(hosts.a.dir.options());
        REQUIRE(eventually([&] { return alpha.lookup("courier.offer.adder@beta").found; }, 10s));
        body(near, alpha, hosts);
    }
    CHECK(hosts.finish());
}

}  // namespace

TEST_CASE(
    "a node starts an actor of a kind a node of another host offers and it answers by "
    "name@host until stop_placed stops it while what cannot start gets its own error",
    "[process][federation][placement]") {
    offered_on_beta("asker", [](Node& near, RegistryClient& alpha, LoopbackPair&) {
        const auto placed = near.spawn_on({"beta", "adder", "add-5", {"5"}});
        INFO((placed ? std::string() : placed.error().message));
        REQUIRE(placed);
        CHECK(placed->address() == "add-5@beta");
        auto pong = near.request<spawn_wire::Pong>("add-5@beta", spawn_wire::Ping{1}, 10s);
        REQUIRE(pong);
        CHECK(pong->n == 6);
        CHECK(alpha.lookup("add-5@beta").node == "offering@beta");

        auto taken = near.spawn_on({"beta", "adder", "add-5", {"1"}});
        REQUIRE_FALSE(taken);
        CHECK(taken.error().code == ErrorCode::name_taken);
        auto refused = near.spawn_on({"beta", "adder", "add-none", {}});
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == ErrorCode::refused);
        CHECK_THAT(refused.error().message, Catch::Contains("takes one argument"));
        CHECK_FALSE(alpha.lookup("add-none@beta").found);
        auto not_offered = near.spawn_on({"beta", "shell", "sh", {}});
        REQUIRE_FALSE(not_offered);
        CHECK(not_offered.error().code == ErrorCode::unknown_name);
        CHECK_THAT(not_offered.error().message, Catch::Contains("offers actor kind 'shell'"));
        auto nowhere = near.spawn_on({"gamma", "adder", "add-1", {"1"}});
        REQUIRE_FALSE(nowhere);
        CHECK(nowhere.error().code == ErrorCode::unknown_name);
        CHECK_THAT(nowhere.error().message, Catch::Contains("'gamma'"));

        // Stopped through the node that started it; then that node no longer has it.
        NameDownBox downs;
        alpha.on_name_down(downs.handler());
        REQUIRE(alpha.watch("add-5@beta").found);
        REQUIRE(near.stop_placed(*placed));
        auto down = downs.wait_for("add-5@beta", 10s);
        REQUIRE(down);
        CHECK(down->reason == registry::down_unregistered);
        REQUIRE(eventually([&] { return !near.stop_placed(*placed); }, 10s));
        const auto gone = near.stop_placed(*placed);
        REQUIRE_FALSE(gone);
        CHECK(gone.error().code == ErrorCode::refused);
        CHECK_THAT(gone.error().message, Catch::Contains("that still runs"));
    });
}

TEST_CASE(
    "an actor placed bound to an actor of the asker's host stops when that actor stops and "
    "one bound to a name its host does not have is refused",
    "[process][federation][placement]") {
    offered_on_beta("asker", [](Node& near, RegistryClient& alpha, LoopbackPair&) {
        ActorPlacement bound{"beta", "adder", "bound-add", {"2"}};
        bound.bound_to = "nobody";
        auto refused = near.spawn_on(bound);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == ErrorCode::refused);
        CHECK_THAT(refused.error().message, Catch::Contains("'nobody'"));

        near.spawn("anchor", [](Actor&) {});
        bound.bound_to = "anchor";
        const auto placed = near.spawn_on(bound);
        INFO((placed ? std::string() : placed.error().message));
        REQUIRE(placed);
        REQUIRE(near.request<spawn_wire::Pong>("bound-add@beta", spawn_wire::Ping{1}, 10s));
        NameDownBox downs;
        alpha.on_name_down(downs.handler());
        REQUIRE(alpha.watch("bound-add@beta").found);
        near.stop("anchor");
        REQUIRE(downs.wait_for("bound-add@beta", 10s));
    });
}

TEST_CASE("a node of the same host starts an offered actor by the kind alone",
          "[process][federation][placement]") {
    offered_on_beta("asker", [](Node&, RegistryClient&, LoopbackPair& hosts) {
        Node local(hosts.b.node("local-asker"));
        const auto placed = local.spawn_on({"", "adder", "add-7", {"7"}});
        INFO((placed ? std::string() : placed.error().message));
        REQUIRE(placed);
        CHECK(placed->address() == "add-7");
        auto pong = local.request<spawn_wire::Pong>("add-7", spawn_wire::Ping{3}, 10s);
        REQUIRE(pong);
        CHECK(pong->n == 10);
        REQUIRE(local.stop_placed(*placed));
    });
}

TEST_CASE("a node whose cookie beta's nodes do not share cannot start an actor there",
          "[process][federation][placement][security]") {
    offered_on_beta("asker", [](Node&, RegistryClient& alpha, LoopbackPair& hosts) {
        const std::string shared = std::getenv("COURIER_COOKIE");
        const auto other = std::filesystem::path(shared).string() + "-other";
        std::ofstream(other) << std::string(40, 'e') << '\n';
        REQUIRE(::chmod(other.c_str(), 0600) == 0);
        ::setenv("COURIER_COOKIE", other.c_str(), 1);
        {
            Node stranger(hosts.a.node("stranger"));
            auto placed = stranger.spawn_on({"beta", "adder", "add-x", {"1"}, 3s});
            REQUIRE_FALSE(placed);
            INFO(placed.error().message);
            // A link that cannot be made is a dead letter, unknown_name (docs/failures.md).
            CHECK(placed.error().code == ErrorCode::unknown_name);
            CHECK_THAT(placed.error().message, Catch::Contains("refused our tcp cookie"));
        }
        ::setenv("COURIER_COOKIE", shared.c_str(), 1);
        std::filesystem::remove(other);
        CHECK_FALSE(alpha.lookup("add-x@beta").found);
    });
}
