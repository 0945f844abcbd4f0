// tcp: between nodes (docs/security.md): a node listens on tcp only when its config asks,
// and nodes whose cookies differ get no link, each side saying why. The handshake itself
// is tested in tests/transports/tcp_auth_test.cpp.

#include "node_support.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace courier;
using namespace courier::test;

namespace {

bool listens_on_tcp(const Node& node) {
    const auto endpoints = node.endpoints();
    return std::any_of(endpoints.begin(), endpoints.end(), [](const std::string& endpoint) {
        return endpoint.rfind("tcp://127.0.0.1:", 0) == 0;
    });
}

/// A cookie file in `dir`, mode 0600.
std::string cookie_file(const TempRuntimeDir& dir, const std::string& name, char fill) {
    const auto path = dir.path() / name;
    std::ofstream(path) << std::string(40, fill) << '\n';
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    return path.string();
}

}  // namespace

TEST_CASE(
    "a node listens on tcp only when its config asks: the preference list, a rule or "
    "[transport.tcp] listen names it",
    "[process][tcp][security]") {
    TempRuntimeDir dir;
    {
        Node plain(configured(dir, "plain", ""));
        CHECK_FALSE(listens_on_tcp(plain));
        CHECK_FALSE(plain.endpoints().empty());
    }
    {
        Node named(configured(dir, "named", "[links]\npreference = [\"unix\", \"tcp\"]\n"));
        CHECK(listens_on_tcp(named));
    }
    {
        Node ruled(configured(dir, "ruled",
                              "[[links.rule]]\nfrom = \"a*\"\nto = \"b*\"\ntransport = \"tcp\"\n"));
        CHECK(listens_on_tcp(ruled));
    }
    {
        Node addressed(configured(dir, "addressed", "[transport.tcp]\nlisten = \"127.0.0.1:0\"\n"));
        CHECK(listens_on_tcp(addressed));
    }
    CHECK_THROWS_WITH(Config::parse("[transport.tcp]\nlisten = 7000\n", "app.toml"),
                      Catch::Contains("transport.tcp.listen must be a string"));
    CHECK(dir.wait_until_empty());
}

TEST_CASE(
    "nodes whose tcp cookies differ get no link: the request fails saying the cookie was "
    "refused, and nothing reaches the actor",
    "[process][tcp][security]") {
    TempRuntimeDir dir;
    const std::string toml = "[links]\npreference = [\"tcp\"]\n";
    const auto theirs = cookie_file(dir, "theirs", 'b');
    const auto ours = cookie_file(dir, "ours", 'a');
    {
        ::setenv("COURIER_COOKIE", theirs.c_str(), 1);
        auto child = spawn_node(configured(dir, "guarded", toml), "echo", echo);
        REQUIRE(child.expect('r'));
        ::setenv("COURIER_COOKIE", ours.c_str(), 1);
        Node node(configured(dir, "intruder", toml));
        auto answer = node.request<wire::Pong>("echo", wire::Ping{1}, 5s);
        REQUIRE_FALSE(answer);
        CHECK_THAT(answer.error().message,
                   Catch::Contains("refused our tcp cookie") && Catch::Contains(ours));
        CHECK(node.links().empty());

        SECTION("with the same cookie, it answers") {
            ::setenv("COURIER_COOKIE", theirs.c_str(), 1);
            Node friendly(configured(dir, "friend", toml));
            auto pong = friendly.request<wire::Pong>("echo", wire::Ping{2}, 5s);
            REQUIRE(pong);
            CHECK(pong->n == 3);
        }
        child.send('q');
        CHECK(child.wait_exit());
    }
    ::unsetenv("COURIER_COOKIE");
    std::filesystem::remove(ours);
    std::filesystem::remove(theirs);
    CHECK(dir.wait_until_empty());
}
