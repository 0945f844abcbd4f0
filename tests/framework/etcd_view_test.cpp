// What courierd makes of the etcd mode's keys (EtcdView, framework/src/registry/
// etcd_view.hpp), stepped by hand with the keys and events another host's courierd would
// write: no etcd here (etcd_client_test and etcd_mode_test start a real one).

#include "registry/etcd_view.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace courier;
using namespace courier::registry;
using Event = EtcdClient::Event;
using KeyValue = EtcdClient::KeyValue;

namespace {

/// What the view told, one line each.
struct Told final : EtcdView::Listener {
    std::vector<std::string> lines;
    void host_up(const HostNames& all, const std::string& courierd) override {
        std::string line = "up " + all.host + (courierd.empty() ? "" : " at " + courierd) + ":";
        for (const auto& n : all.names) line += " " + n.name;
        line += " |";
        for (const auto& g : all.groups) line += " " + g.group + "/" + g.member.name;
        lines.push_back(line);
    }
    void host_gone(const std::string& host) override { lines.push_back("gone " + host); }
    void name_up(const std::string& host, const HostName& e) override {
        lines.push_back("name up " + e.name + "@" + host + " node " + e.node + " #" +
                        std::to_string(e.incarnation));
    }
    void name_down(const std::string& host, const HostNameDown& d) override {
        lines.push_back("name down " + d.name + "@" + host + " (" + d.reason + ")");
    }
    void group_change(const std::string& host, const GroupChange& c) override {
        lines.push_back(std::string(c.joined ? "join " : "leave ") + c.group + "/" + c.member.name +
                        "@" + host + (c.reason.empty() ? "" : " (" + c.reason + ")"));
    }
    std::vector<std::string> take() { return std::exchange(lines, {}); }
};

struct Writer {
    const EtcdView& keys;
    std::int64_t revision = 10;
    KeyValue host(const std::string& h) {
        return {keys.host_key(h), EtcdView::host_value(h), ++revision, revision, 7};
    }
    KeyValue name(const std::string& h, const std::string& n, std::uint64_t incarnation = 1,
                  const std::string& down = {}) {
        HostName entry{n, "node-" + h, 0, {"tcp://10.0.0.9:1"}, incarnation};
        return {keys.name_key(n), EtcdView::name_value(h, entry, down), ++revision, revision, 7};
    }
    KeyValue member(const std::string& h, const std::string& g, const std::string& n,
                    const std::string& left = {}) {
        return {keys.member_key(h, g, n), EtcdView::member_value({n, "node-" + h, 0}, left),
                ++revision, revision, 7};
    }
    KeyValue gone(const std::string& key) { return {key, {}, 0, ++revision, 0}; }
};

Event put(KeyValue kv) {
    return {true, std::move(kv)};
}
Event erased(KeyValue kv) {
    return {false, std::move(kv)};
}

}  // namespace

TEST_CASE("etcd view: another host's names and members come with its host key and go with it",
          "[registry][etcd]") {
    Told told;
    EtcdView view("/courier", "alpha", told);
    Writer w{view};
    // This host's own keys are skipped; a name may contain '/'.
    view.snapshot({w.host("alpha"), w.name("alpha", "mine"), w.host("beta"),
                   w.name("beta", "worker/2"), w.member("beta", "pool", "worker/2"),
                   w.member("alpha", "pool", "mine")});
    CHECK(told.take() == std::vector<std::string>{"up beta: worker/2 | pool/worker/2"});

    view.events({put(w.name("beta", "ledger")), put(w.member("beta", "pool", "ledger"))});
    CHECK(told.take() == std::vector<std::string>{"name up ledger@beta node node-beta #1",
                                                  "join pool/ledger@beta"});
    // An end is put with its reason, then erased: the reason is told once.
    view.events({put(w.name("beta", "ledger", 1, "node exited")),
                 erased(w.gone(view.name_key("ledger"))),
                 put(w.member("beta", "pool", "ledger", "node exited")),
                 erased(w.gone(view.member_key("beta", "pool", "ledger")))});
    CHECK(told.take() == std::vector<std::string>{"name down ledger@beta (node exited)",
                                                  "leave pool/ledger@beta (node exited)"});
    // The lease ends: every key of beta goes in one revision, the host key first whatever
    // the order of the events, so its names are not told one by one.
    const std::int64_t at = ++w.revision;
    auto at_once = [&](std::string key) { return erased(KeyValue{std::move(key), {}, 0, at, 0}); };
    view.events({at_once(view.name_key("worker/2")), at_once(view.host_key("beta")),
                 at_once(view.member_key("beta", "pool", "worker/2"))});
    CHECK(told.take() == std::vector<std::string>{"gone beta"});
    // beta comes back with a new lease, and says where its courierd listens now.
    KeyValue listening = w.host("beta");
    listening.value = EtcdView::host_value("beta", "tcp://10.0.0.2:7100");
    view.events({put(listening), put(w.name("beta", "worker/2", 2))});
    CHECK(told.take() == std::vector<std::string>{"up beta at tcp://10.0.0.2:7100: |",
                                                  "name up worker/2@beta node node-beta #2"});
}

TEST_CASE("etcd view: a snapshot after the watch broke tells only what changed meanwhile",
          "[registry][etcd]") {
    Told told;
    EtcdView view("/courier", "alpha", told);
    Writer w{view};
    const auto beta = w.host("beta");
    view.snapshot({beta, w.name("beta", "a"), w.name("beta", "b"), w.member("beta", "g", "a"),
                   w.host("gamma"), w.name("gamma", "c")});
    CHECK(told.take() == std::vector<std::string>{"up beta: a b | g/a", "up gamma: c |"});
    // Meanwhile: beta's b was registered again, a left g and c2 joined; gamma is gone.
    view.snapshot({beta, w.name("beta", "a"), w.name("beta", "b", 5), w.name("beta", "c2"),
                   w.member("beta", "g", "c2")});
    CHECK(told.take() == std::vector<std::string>{"gone gamma", "name down b@beta (unregistered)",
                                                  "name up b@beta node node-beta #5",
                                                  "name up c2@beta node node-beta #1",
                                                  "leave g/a@beta (left)", "join g/c2@beta"});
    // etcd away: every other host is gone; back, they are up again with what they hold.
    view.lost();
    CHECK(told.take() == std::vector<std::string>{"gone beta"});
    view.snapshot({beta, w.name("beta", "a")});
    CHECK(told.take() == std::vector<std::string>{"up beta: a |"});
}

TEST_CASE(
    "etcd view: a name taken over by another host ends on the first, and foreign keys "
    "are ignored",
    "[registry][etcd]") {
    Told told;
    EtcdView view("/courier", "alpha", told);
    Writer w{view};
    view.snapshot({w.host("beta"), w.host("gamma"), w.name("beta", "ledger")});
    told.take();
    view.events({put(w.name("gamma", "ledger", 3))});
    CHECK(told.take() == std::vector<std::string>{"name down ledger@beta (unregistered)",
                                                  "name up ledger@gamma node node-gamma #3"});
    // Junk under the prefix, and keys beside it, change nothing.
    view.events({put({"/courier/names/x", "not json", 1, 50, 0}),
                 put({"/courier/names/y", R"({"host":"beta"})", 1, 51, 0}),
                 put({"/courier/other/z", "{}", 1, 52, 0}),
                 put({"/courierx/hosts/q", "{}", 1, 53, 0}),
                 put({"/courier/members/beta/g", "{}", 1, 54, 0})});
    CHECK(told.take().empty());
    // A name of this host's taken over by another: the other's is told (ours is courierd's).
    view.events({put(w.name("alpha", "ledger", 4))});
    CHECK(told.take() == std::vector<std::string>{"name down ledger@gamma (unregistered)"});
    CHECK(EtcdView::host_of_name(EtcdView::name_value("beta", HostName{})) == "beta");
    CHECK_FALSE(EtcdView::host_of_name("[]").has_value());
}
