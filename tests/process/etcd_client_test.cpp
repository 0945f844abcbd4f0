// courierd's client of etcd's v3 JSON gateway (registry/etcd_client.hpp) and its threads
// in etcd mode (registry/etcd_store.hpp), against a real etcd server the test starts.
#include "etcd_server.hpp"
#include "process_support.hpp"

#include "registry/etcd_client.hpp"
#include "registry/etcd_store.hpp"

#include <httplib.h>
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

using namespace courier;
using namespace courier::test;
using registry::EtcdClient;
using registry::EtcdError;

namespace {

std::vector<std::string> keys_of(const EtcdClient::Range& range) {
    std::vector<std::string> keys;
    for (const auto& kv : range.kvs) keys.push_back(kv.key);
    return keys;
}

}  // namespace

TEST_CASE("etcd client: put, a range by prefix, erase, and bytes that are not text", "[etcd]") {
    EtcdServer etcd;
    EtcdClient client({etcd.endpoint()}, 2s);
    const std::string binary("\0\xff\x01 =\n", 6);
    client.put("/t/a", "one");
    client.put("/t/b", binary);
    client.put("/u/c", "elsewhere");
    const auto range = client.range("/t/");
    CHECK(keys_of(range) == std::vector<std::string>{"/t/a", "/t/b"});
    REQUIRE(range.kvs.size() == 2);
    CHECK(range.kvs[0].value == "one");
    CHECK(range.kvs[1].value == binary);
    CHECK(range.revision >= 4);
    CHECK(client.erase("/t/a"));
    CHECK_FALSE(client.erase("/t/a"));
    CHECK(keys_of(client.range("/t/")) == std::vector<std::string>{"/t/b"});
    CHECK(registry::prefix_end("/t/") == "/t0");
    CHECK(registry::prefix_end(std::string("a\xff", 2)) == "b");
}

TEST_CASE("etcd client: create puts a key only once and tells who holds it", "[etcd]") {
    EtcdServer etcd;
    EtcdClient first({etcd.endpoint()}, 2s);
    EtcdClient second({etcd.endpoint()}, 2s);
    CHECK_FALSE(first.create("/names/ledger", "alpha").has_value());
    const auto held = second.create("/names/ledger", "beta");
    REQUIRE(held.has_value());
    CHECK(held->value == "alpha");
    CHECK(held->create_revision > 0);
    // Only the first one's value is there.
    CHECK(second.range("/names/").kvs.at(0).value == "alpha");
    first.erase("/names/ledger");
    CHECK_FALSE(second.create("/names/ledger", "beta").has_value());
}

TEST_CASE("etcd client: keys under a lease live while it is kept alive and go with it", "[etcd]") {
    EtcdServer etcd;
    EtcdClient client({etcd.endpoint()}, 2s);
    const auto lease = client.grant(2s);
    client.put("/hosts/alpha", "up", lease);
    CHECK_FALSE(client.create("/names/x", "alpha", lease).has_value());
    CHECK(client.range("/").kvs.at(0).lease == lease);
    // Kept alive across three of its lifetimes, the keys stay.
    const auto until = std::chrono::steady_clock::now() + 6s;
    while (std::chrono::steady_clock::now() < until) {
        REQUIRE(client.keep_alive(lease));
        std::this_thread::sleep_for(500ms);
    }
    CHECK(client.range("/").kvs.size() == 2);
    // Left alone, the lease expires and takes its keys.
    CHECK(eventually([&] { return client.range("/").kvs.empty(); }, 10s));
    CHECK_FALSE(client.keep_alive(lease));
    // Revoked, a lease's keys go at once.
    const auto other = client.grant(60s);
    client.put("/hosts/beta", "up", other);
    client.revoke(other);
    CHECK(client.range("/").kvs.empty());
    client.revoke(other);  // already gone: nothing to do
}

TEST_CASE("etcd client: a watch streams puts and deletes from a revision until stopped", "[etcd]") {
    EtcdServer etcd;
    EtcdClient writer({etcd.endpoint()}, 2s);
    writer.put("/w/before", "1");
    const auto start = writer.range("/w/").revision + 1;
    EtcdClient watcher({etcd.endpoint()}, 2s);
    std::mutex mutex;
    std::vector<EtcdClient::Event> seen;
    std::optional<std::string> error;
    std::thread watching([&] {
        try {
            watcher.watch("/w/", start, [&](std::vector<EtcdClient::Event> events) {
                std::lock_guard held(mutex);
                seen.insert(seen.end(), events.begin(), events.end());
            });
        } catch (const EtcdError& e) {
            std::lock_guard held(mutex);
            error = e.what();
        }
    });
    const auto lease = writer.grant(60s);
    writer.put("/w/a", "x", lease);
    writer.put("/elsewhere", "not watched");
    writer.put("/w/a", "y", lease);
    writer.erase("/w/before");
    writer.revoke(lease);  // deletes /w/a
    const bool all = eventually([&] {
        std::lock_guard held(mutex);
        return seen.size() >= 4;
    });
    watcher.stop();
    watching.join();
    CHECK_FALSE(error.has_value());
    REQUIRE(all);
    std::lock_guard held(mutex);
    REQUIRE(seen.size() == 4);
    CHECK((seen[0].put && seen[0].kv.key == "/w/a" && seen[0].kv.value == "x"));
    CHECK((seen[1].put && seen[1].kv.value == "y" && seen[1].kv.lease == lease));
    CHECK((!seen[2].put && seen[2].kv.key == "/w/before"));
    CHECK((!seen[3].put && seen[3].kv.key == "/w/a"));
    CHECK(seen[0].kv.mod_revision < seen[3].kv.mod_revision);
}

TEST_CASE("etcd client: an endpoint that does not answer is an error and the next is tried",
          "[etcd]") {
    EtcdServer etcd;
    // Nothing listens on the first: a refused connection.
    EtcdClient client({"http://127.0.0.1:1", etcd.endpoint()}, 1s);
    CHECK_THROWS_AS(client.put("/k", "v"), EtcdError);
    client.put("/k", "v");
    CHECK(client.endpoint() == etcd.endpoint());
    // A stopped etcd: the call ends at the timeout with an error, and works once it runs.
    EtcdClient only({etcd.endpoint()}, 500ms);
    etcd.signal(SIGSTOP);
    CHECK_THROWS_AS(only.range("/"), EtcdError);
    etcd.signal(SIGCONT);
    CHECK(eventually(
        [&] {
            try {
                return only.range("/").kvs.size() == 1;
            } catch (const EtcdError&) {
                return false;
            }
        },
        10s));
}

TEST_CASE("etcd client: a watch from a compacted revision is refused", "[etcd]") {
    EtcdServer etcd;
    EtcdClient client({etcd.endpoint()}, 2s);
    client.put("/c/a", "1");
    client.put("/c/a", "2");
    const auto revision = client.range("/c/").revision;
    // courierd never compacts; an operator (or etcd's --auto-compaction) does.
    auto compacted =
        httplib::Client(etcd.endpoint())
            .Post("/v3/kv/compaction", R"({"revision":")" + std::to_string(revision) + R"("})",
                  "application/json");
    REQUIRE(compacted);
    REQUIRE(compacted->status == 200);
    REQUIRE_THROWS_WITH(client.watch("/c/", 1, [](std::vector<EtcdClient::Event>) {}),
                        Catch::Contains("compacted"));
}

TEST_CASE(
    "etcd store: a host's keys live under its lease, claims are once, and another "
    "host follows them",
    "[etcd]") {
    EtcdServer etcd;
    std::mutex mutex;
    std::vector<std::string> seen;  // what beta's follower read: "+key=value", "-key"
    std::vector<std::string> claims;
    auto settings = [&](const std::string& host) {
        registry::EtcdStore::Settings s;
        s.endpoints = {etcd.endpoint()};
        s.host_key = "/c/hosts/" + host;
        s.host_value = host;
        s.prefix = "/c/";
        return s;
    };
    auto sink = [&](const std::string& host) {
        registry::EtcdStore::Sink s;
        s.snapshot = [&, host](EtcdClient::Range range) {
            std::lock_guard held(mutex);
            if (host == "beta")
                for (const auto& kv : range.kvs) seen.push_back("+" + kv.key + "=" + kv.value);
        };
        s.events = [&, host](std::vector<EtcdClient::Event> events) {
            std::lock_guard held(mutex);
            if (host != "beta") return;
            for (const auto& e : events)
                seen.push_back(e.put ? "+" + e.kv.key + "=" + e.kv.value : "-" + e.kv.key);
        };
        s.claimed = [&, host](std::uint64_t token, std::optional<EtcdClient::KeyValue> holder) {
            std::lock_guard held(mutex);
            claims.push_back(host + " " + std::to_string(token) + " " +
                             (holder ? "held by " + holder->value : "taken"));
        };
        s.unreachable = [] {};
        return s;
    };
    auto has = [&](const std::string& line) {
        return eventually([&] {
            std::lock_guard held(mutex);
            return std::find(seen.begin(), seen.end(), line) != seen.end();
        });
    };
    registry::EtcdStore beta(settings("beta"), sink("beta"));
    {
        registry::EtcdStore alpha(settings("alpha"), sink("alpha"));
        CHECK(alpha.claim(1, "/c/names/ledger", "alpha"));
        alpha.put("/c/members/alpha/pool/ledger", "m");
        REQUIRE(has("+/c/hosts/alpha=alpha"));
        REQUIRE(has("+/c/names/ledger=alpha"));
        REQUIRE(has("+/c/members/alpha/pool/ledger=m"));
        CHECK(beta.claim(2, "/c/names/ledger", "beta"));
        REQUIRE(eventually([&] {
            std::lock_guard held(mutex);
            return claims.size() == 2;
        }));
        {
            std::lock_guard held(mutex);
            CHECK(claims == std::vector<std::string>{"alpha 1 taken", "beta 2 held by alpha"});
        }
        // An end is put with its last value, then erased.
        alpha.put("/c/members/alpha/pool/other", "o");
        alpha.end("/c/members/alpha/pool/other", "bye");
        CHECK(has("+/c/members/alpha/pool/other=bye"));
        CHECK(has("-/c/members/alpha/pool/other"));
    }
    // alpha's courierd stopped: its lease is revoked, and every key of its goes at once.
    CHECK(has("-/c/hosts/alpha"));
    CHECK(has("-/c/names/ledger"));
    CHECK(has("-/c/members/alpha/pool/ledger"));
    EtcdClient client({etcd.endpoint()}, 2s);
    const auto left = client.range("/c/");
    REQUIRE(left.kvs.size() == 1);
    CHECK(left.kvs[0].key == "/c/hosts/beta");
}

TEST_CASE(
    "etcd store: while etcd does not answer at most its max_claims claims wait and the next is "
    "refused at once and each that waited is answered once etcd is back",
    "[etcd]") {
    EtcdServer etcd;
    std::atomic<std::size_t> taken{0};
    registry::EtcdStore::Settings settings;
    settings.endpoints = {etcd.endpoint()};
    settings.host_key = "/c/hosts/alpha";
    settings.host_value = "alpha";
    settings.prefix = "/c/";
    constexpr std::size_t max = 16;  // 1,024 by default: etcd's fsync makes each take ~50 ms here
    settings.max_claims = max;
    registry::EtcdStore::Sink sink;
    sink.snapshot = [](EtcdClient::Range) {};
    sink.events = [](std::vector<EtcdClient::Event>) {};
    sink.claimed = [&](std::uint64_t, std::optional<EtcdClient::KeyValue> holder) {
        if (!holder) ++taken;
    };
    sink.unreachable = [] {};
    registry::EtcdStore store(settings, sink);
    EtcdClient client({etcd.endpoint()}, 2s);
    REQUIRE(eventually([&] { return !client.range("/c/hosts/alpha").kvs.empty(); }));

    etcd.signal(SIGSTOP);
    for (std::size_t i = 0; i < max; ++i)
        REQUIRE(store.claim(i, "/c/names/n" + std::to_string(i), "alpha"));
    CHECK_FALSE(store.claim(max, "/c/names/one-more", "alpha"));
    etcd.signal(SIGCONT);
    REQUIRE(eventually([&] { return taken == max; }, 60s));
    const auto names = client.range("/c/names/");
    CHECK(names.kvs.size() == max);
    CHECK(std::none_of(names.kvs.begin(), names.kvs.end(),
                       [](const auto& kv) { return kv.key == "/c/names/one-more"; }));
}
