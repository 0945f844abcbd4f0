// A node's Prometheus metrics scraped over HTTP by the real curl: the exact counts a test
// caused (requests to another process, dead letters of three reasons, a full mailbox),
// the exposition's content type, 404 for any other path, and no server once the node
// went. The text without HTTP: tests/framework/metrics_test.cpp.

#include "node_support.hpp"

#include <courier/courier.hpp>

#include <catch2/catch.hpp>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace courier;
using namespace courier::test;

const std::string curl = "/usr/bin/curl";

/// What curl fetched from `url` with `flags` (its exit status and its output).
CommandResult fetch(const std::string& url, std::vector<std::string> flags = {"-sf"}) {
    std::vector<std::string> argv{curl};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(url);
    return run_command(argv, 10s);
}

/// The value of the sample `series` (its name and labels, as written) in `text`.
std::optional<std::string> sample(const std::string& text, const std::string& series) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(series + " ")) return line.substr(series.size() + 1);
    return std::nullopt;
}

/// Holds a handler until the test opens it, and says when one is held.
class Gate {
  public:
    void pass() {
        std::unique_lock lock(mutex_);
        held_ = true;
        changed_.notify_all();
        changed_.wait(lock, [this] { return open_; });
    }
    bool wait_held(milliseconds within = 10s) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, within, [this] { return held_; });
    }
    void open() {
        std::lock_guard lock(mutex_);
        open_ = true;
        changed_.notify_all();
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    bool held_ = false, open_ = false;
};

struct LinkCounts {
    std::uint64_t frames_sent = 0, bytes_sent = 0, frames_received = 0, bytes_received = 0;
    std::string transport;
    bool operator==(const LinkCounts&) const = default;
};

/// The node's links to `peer`, summed, as the metrics show them.
LinkCounts counts_to(const Node& node, const std::string& peer) {
    LinkCounts counts;
    for (const auto& link : node.links()) {
        if (link.peer_node != peer) continue;
        counts.transport = link.transport;
        counts.frames_sent += link.frames_sent;
        counts.bytes_sent += link.bytes_sent;
        counts.frames_received += link.frames_received;
        counts.bytes_received += link.bytes_received;
    }
    return counts;
}

}  // namespace

TEST_CASE("curl scrapes the exact counts of links, dead letters, mailboxes and requests",
          "[process][metrics]") {
    REQUIRE(std::filesystem::exists(curl));
    TempRuntimeDir dir;
    std::string url;
    {
        auto child = spawn_node(dir, "metrics-echo-node", "echo", echo);
        REQUIRE(child.expect('r'));
        // Before the node: its actors use them until it stops.
        Mailbag<bool> answered;
        Gate gate;
        auto options = node_options(dir, "metrics-node");
        options.metrics_address = "127.0.0.1:0";
        Node node(options);
        url = "http://" + node.metrics_endpoint() + "/metrics";

        // Five requests answered by the other process: three from outside the actors,
        // two from an actor.
        for (int i = 0; i < 3; ++i)
            REQUIRE(node.request<wire::Pong>("echo", wire::Ping{i}, 10s).has_value());
        node.spawn("asker", [&answered](Actor& self) {
            for (int i = 0; i < 2; ++i)
                self.request<wire::Pong>(
                    "echo", wire::Ping{i}, 10s,
                    [&answered](Expected<wire::Pong, Error> r) { answered.put(r.has_value()); });
        });
        REQUIRE(answered.take(10s) == true);
        REQUIRE(answered.take(10s) == true);

        // Dead letters: two to a name nobody has, three its actor has no handler for, and
        // one a full mailbox refuses.
        for (int i = 0; i < 2; ++i) {
            auto sent = node.send("metrics-nobody", wire::Ping{i});
            REQUIRE_FALSE(sent);
            CHECK(sent.error().code == ErrorCode::unknown_name);
        }
        node.spawn("deaf", [](Actor&) {});
        for (int i = 0; i < 3; ++i) REQUIRE(node.send("deaf", wire::Ping{i}).has_value());
        node.spawn("held", [&gate](Actor& self) {
            self.mailbox_limit(MailboxLimit{2, MailboxLimit{}.bytes, Overflow::fail});
            self.handle<wire::Go>([&gate](wire::Go&) { gate.pass(); });
            self.handle<wire::Ping>([](wire::Ping&) {});
        });
        REQUIRE(node.send("held", wire::Go{}).has_value());
        REQUIRE(gate.wait_held());
        REQUIRE(node.send("held", wire::Ping{1}).has_value());
        REQUIRE(node.send("held", wire::Ping{2}).has_value());
        auto refused = node.send("held", wire::Ping{3});
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == ErrorCode::mailbox_full);
        REQUIRE(eventually([&] { return node.stats().dead_letters == 6; }, 10s));

        // The links' counts move on their own a little (credit coming back): scrape
        // between two equal readings of them.
        std::string text;
        LinkCounts link;
        REQUIRE(eventually(
            [&] {
                link = counts_to(node, "metrics-echo-node");
                auto scraped = fetch(url);
                text = scraped.out;
                return scraped.exit_code == 0 && counts_to(node, "metrics-echo-node") == link;
            },
            10s));
        gate.open();
        INFO(text);

        const std::string who = "{node=\"metrics-node\"";
        const std::string to_echo =
            who + ",peer=\"metrics-echo-node\",transport=\"" + link.transport + "\"}";
        CHECK(link.frames_sent >= 5);
        CHECK(sample(text, "courier_messages_sent_total" + to_echo) ==
              std::to_string(link.frames_sent));
        CHECK(sample(text, "courier_messages_received_total" + to_echo) ==
              std::to_string(link.frames_received));
        CHECK(sample(text, "courier_bytes_sent_total" + to_echo) ==
              std::to_string(link.bytes_sent));
        CHECK(sample(text, "courier_bytes_received_total" + to_echo) ==
              std::to_string(link.bytes_received));

        CHECK(sample(text, "courier_dead_letters_total" + who + ",reason=\"unknown_name\"}") ==
              "2");
        CHECK(sample(text, "courier_dead_letters_total" + who + ",reason=\"no_handler\"}") == "3");
        CHECK(sample(text, "courier_dead_letters_total" + who + ",reason=\"mailbox_full\"}") ==
              "1");
        CHECK(sample(text, "courier_dead_letters_total" + who + ",reason=\"timeout\"}") == "0");
        CHECK(sample(text, "courier_mailbox_depth" + who + ",actor=\"held\"}") == "2");
        CHECK(sample(text, "courier_mailbox_refused_total" + who + ",actor=\"held\"}") == "1");
        CHECK(sample(text, "courier_mailbox_dropped_total" + who + ",actor=\"held\"}") == "0");
        CHECK(sample(text, "courier_handler_failures_total" + who + "}") == "0");
        CHECK(sample(text, "courier_bad_frames_total" + who + "}") == "0");

        // The histogram: five answers, buckets cumulative up to +Inf, which is the count.
        const std::string bucket = "courier_request_duration_seconds_bucket" + who + ",le=";
        std::uint64_t previous = 0;
        for (const char* le : {"0.00001", "0.000025", "0.00005", "0.0001", "0.00025", "0.0005",
                               "0.001", "0.0025", "0.005", "0.01", "0.025", "0.1", "1", "+Inf"}) {
            INFO("le=" << le);
            const auto value = sample(text, bucket + "\"" + le + "\"}");
            REQUIRE(value);
            const auto count = std::stoull(*value);
            CHECK(count >= previous);
            previous = count;
        }
        CHECK(previous == 5);
        CHECK(sample(text, "courier_request_duration_seconds_count" + who + "}") == "5");
        const auto sum = sample(text, "courier_request_duration_seconds_sum" + who + "}");
        REQUIRE(sum);
        CHECK(std::stod(*sum) > 0.0);
        CHECK(std::stod(*sum) < 50.0);  // five requests of at most 10 s each

        child.send('q');
        CHECK(child.wait_exit());

        // The peer gone and its links closed, the counters keep what they carried: a
        // counter never goes down (Prometheus would read a drop as a restart).
        REQUIRE(eventually([&] { return counts_to(node, "metrics-echo-node").transport.empty(); },
                           10s));
        const auto after = fetch(url);
        REQUIRE(after.exit_code == 0);
        INFO(after.out);
        for (const auto& [series, before] :
             {std::pair{"courier_messages_sent_total", link.frames_sent},
              std::pair{"courier_messages_received_total", link.frames_received},
              std::pair{"courier_bytes_sent_total", link.bytes_sent},
              std::pair{"courier_bytes_received_total", link.bytes_received}}) {
            INFO(series);
            const auto value = sample(after.out, series + to_echo);
            REQUIRE(value);
            CHECK(std::stoull(*value) >= before);
        }
    }
    // Gone with the node: nothing answers on its port any more.
    CHECK(fetch(url).exit_code != 0);
    CHECK(dir.wait_until_empty());
}

TEST_CASE("the metrics come as Prometheus text 0.0.4 and any other path is 404",
          "[process][metrics]") {
    REQUIRE(std::filesystem::exists(curl));
    NodeOptions options;
    options.name = "metrics-http-node";
    options.use_registry = false;
    options.handle_signals = false;
    options.metrics_address = "127.0.0.1:0";
    Node node(options);
    const std::string base = "http://" + node.metrics_endpoint();

    const auto head = fetch(base + "/metrics", {"-si"});
    REQUIRE(head.exit_code == 0);
    INFO(head.out);
    CHECK(head.out.starts_with("HTTP/1.1 200"));
    CHECK(head.out.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") !=
          std::string::npos);
    CHECK(head.out.find("# TYPE courier_request_duration_seconds histogram") != std::string::npos);

    for (const char* path : {"/", "/metrics/", "/other"}) {
        INFO(path);
        const auto other = fetch(base + path, {"-s", "-o", "/dev/null", "-w", "%{http_code}"});
        CHECK(other.exit_code == 0);
        CHECK(other.out == "404");
    }
}
