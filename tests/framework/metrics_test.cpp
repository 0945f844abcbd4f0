// A node's Prometheus metrics without HTTP: the text a snapshot renders (metrics_text.hpp),
// the request-duration histogram, the metrics_address a node accepts, and the sockets a
// node opens for it (none without one). Scraped over HTTP with curl: tests/process/
// metrics_test.cpp.
#include <courier/courier.hpp>

#include "metrics_server.hpp"
#include "metrics_text.hpp"
#include "request_durations.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using courier::detail::MetricsSnapshot;
using courier::detail::RequestDurations;

namespace {

courier::NodeOptions alone(std::string name, std::string metrics_address = {}) {
    courier::NodeOptions options;
    options.name = std::move(name);
    options.use_registry = false;
    options.handle_signals = false;
    options.metrics_address = std::move(metrics_address);
    return options;
}

bool has_line(const std::string& text, const std::string& line) {
    std::istringstream in(text);
    for (std::string each; std::getline(in, each);)
        if (each == line) return true;
    return false;
}

/// TCP sockets of this process in the LISTEN state (/proc/net/tcp{,6} by inode, matched
/// against /proc/self/fd).
std::size_t listening_tcp_sockets() {
    std::set<std::string> listening;  // inodes
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line);  // the header
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
            fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
                timeout >> inode;
            if (state == "0A") listening.insert(inode);
        }
    }
    std::size_t count = 0;
    for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code error;
        const auto target = std::filesystem::read_symlink(fd.path(), error).string();
        if (error || !target.starts_with("socket:[")) continue;
        if (listening.contains(target.substr(8, target.size() - 9))) ++count;
    }
    return count;
}

}  // namespace

TEST_CASE("the metrics text has every series with its node label and exact values",
          "[framework][metrics]") {
    MetricsSnapshot snapshot;
    snapshot.node = "we\"st";
    snapshot.stats.delivered_local = 7;
    snapshot.stats.handler_failures = 2;
    snapshot.stats.bad_frames = 1;
    snapshot.stats.registry_lookups = 4;
    // Two links to one node (one each way) are one series; a tool's link is left out.
    courier::LinkInfo out, in, tool, other;
    out.peer_node = in.peer_node = "east";
    out.transport = in.transport = "unix";
    out.frames_sent = 10, out.bytes_sent = 1000, out.frames_received = 3, out.bytes_received = 90;
    in.frames_sent = 5, in.bytes_sent = 500, in.frames_received = 4, in.bytes_received = 60;
    tool.transport = "unix";
    tool.frames_sent = 99;
    other.peer_node = "east";
    other.transport = "tcp";
    other.frames_sent = 1;
    snapshot.links = {out, tool, in, other};
    // Links closed since the node started still count: counters never go down.
    courier::LinkInfo closed, gone;
    closed.peer_node = "east";
    closed.transport = "unix";
    closed.frames_sent = 100, closed.bytes_sent = 10000;
    closed.frames_received = 20, closed.bytes_received = 200;
    gone.peer_node = "gone";
    gone.transport = "sysv";
    gone.frames_sent = 8;
    snapshot.closed_links = {closed, gone};
    courier::MailboxStats box;
    box.name = "a\\b";
    box.depth = 3;
    box.refused = 5;
    box.dropped = 6;
    snapshot.mailboxes = {box};
    snapshot.dead_letters = {{courier::ErrorCode::unknown_name, 12},
                             {courier::ErrorCode::no_handler, 0}};
    RequestDurations durations;
    durations.record(5us);   // in the first bucket
    durations.record(30us);  // 0.00005
    durations.record(2ms);   // 0.0025
    durations.record(3s);    // +Inf only
    snapshot.request_durations = durations.snapshot();

    const auto text = courier::detail::metrics_text(snapshot);
    INFO(text);
    const std::string node = "node=\"we\\\"st\"";
    CHECK(has_line(text, "# TYPE courier_messages_sent_total counter"));
    CHECK(has_line(
        text, "courier_messages_sent_total{" + node + ",peer=\"east\",transport=\"unix\"} 115"));
    CHECK(has_line(text,
                   "courier_messages_sent_total{" + node + ",peer=\"east\",transport=\"tcp\"} 1"));
    CHECK(has_line(
        text, "courier_messages_received_total{" + node + ",peer=\"east\",transport=\"unix\"} 27"));
    CHECK(has_line(
        text, "courier_bytes_sent_total{" + node + ",peer=\"east\",transport=\"unix\"} 11500"));
    CHECK(has_line(
        text, "courier_bytes_received_total{" + node + ",peer=\"east\",transport=\"unix\"} 350"));
    CHECK(has_line(text,
                   "courier_messages_sent_total{" + node + ",peer=\"gone\",transport=\"sysv\"} 8"));
    CHECK(text.find("} 99\n") == std::string::npos);  // the tool's link
    CHECK(has_line(text, "# TYPE courier_mailbox_depth gauge"));
    CHECK(has_line(text, "courier_mailbox_depth{" + node + ",actor=\"a\\\\b\"} 3"));
    CHECK(has_line(text, "courier_mailbox_refused_total{" + node + ",actor=\"a\\\\b\"} 5"));
    CHECK(has_line(text, "courier_mailbox_dropped_total{" + node + ",actor=\"a\\\\b\"} 6"));
    CHECK(has_line(text, "courier_dead_letters_total{" + node + ",reason=\"unknown_name\"} 12"));
    CHECK(has_line(text, "courier_dead_letters_total{" + node + ",reason=\"no_handler\"} 0"));
    CHECK(has_line(text, "courier_letters_delivered_total{" + node + "} 7"));
    CHECK(has_line(text, "courier_handler_failures_total{" + node + "} 2"));
    CHECK(has_line(text, "courier_bad_frames_total{" + node + "} 1"));
    CHECK(has_line(text, "courier_registry_lookups_total{" + node + "} 4"));
    CHECK(has_line(text, "# TYPE courier_request_duration_seconds histogram"));
    const std::string bucket = "courier_request_duration_seconds_bucket{" + node + ",le=";
    CHECK(has_line(text, bucket + "\"0.00001\"} 1"));
    CHECK(has_line(text, bucket + "\"0.000025\"} 1"));
    CHECK(has_line(text, bucket + "\"0.00005\"} 2"));
    CHECK(has_line(text, bucket + "\"0.001\"} 2"));
    CHECK(has_line(text, bucket + "\"0.0025\"} 3"));
    CHECK(has_line(text, bucket + "\"1\"} 3"));
    CHECK(has_line(text, bucket + "\"+Inf\"} 4"));
    CHECK(has_line(text, "courier_request_duration_seconds_sum{" + node + "} 3.002035"));
    CHECK(has_line(text, "courier_request_duration_seconds_count{" + node + "} 4"));
    // Every family says what it is before its samples.
    std::istringstream lines(text);
    std::string last_type;
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("# TYPE ")) {
            last_type = line.substr(7, line.find(' ', 7) - 7);
        } else if (!line.starts_with("# HELP ")) {
            INFO(line);
            CHECK(line.starts_with(last_type));
        }
    }
}

TEST_CASE("the request-duration buckets are cumulative and +Inf is the count",
          "[framework][metrics]") {
    RequestDurations durations;
    for (int i = 0; i < 3; ++i) durations.record(100us);  // exactly a bound: in its bucket
    durations.record(101us);
    durations.record(-5us);  // a clock that went back counts as no time
    const auto s = durations.snapshot();
    CHECK(s.count == 5);
    CHECK(s.sum_ns == 3 * 100'000 + 101'000);
    CHECK(s.buckets[0] == 1);  // 10 µs: the negative one
    CHECK(s.buckets[3] == 4);  // 100 µs
    CHECK(s.buckets[4] == 5);  // 250 µs
    for (std::size_t i = 1; i < s.buckets.size(); ++i) CHECK(s.buckets[i] >= s.buckets[i - 1]);
    CHECK(s.buckets.back() == s.count);
}

TEST_CASE("a metrics address is host and port and nothing else", "[framework][metrics]") {
    using courier::detail::parse_metrics_address;
    auto v4 = parse_metrics_address("127.0.0.1:9464");
    REQUIRE(v4);
    CHECK(v4->host == "127.0.0.1");
    CHECK(v4->port == 9464);
    auto v6 = parse_metrics_address("[::1]:0");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->port == 0);
    for (const char* bad : {"127.0.0.1", ":9464", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:94x",
                            "::1:9464", "[::1]9464", "127.0.0.1:-1"}) {
        INFO(bad);
        CHECK_FALSE(parse_metrics_address(bad));
    }
}

TEST_CASE("a bad metrics address or a port in use fails the node at construction",
          "[framework][metrics]") {
    try {
        courier::Node node(alone("metrics-bad", "localhost"));
        FAIL("a node started without a port");
    } catch (const courier::SetupError& e) {
        CHECK(e.code() == courier::ErrorCode::bad_config);
        CHECK_THAT(std::string(e.what()), Catch::Contains("host:port"));
    }
    courier::Node first(alone("metrics-first", "127.0.0.1:0"));
    const auto taken = first.metrics_endpoint();
    REQUIRE(taken.starts_with("127.0.0.1:"));
    CHECK(taken != "127.0.0.1:0");
    try {
        courier::Node second(alone("metrics-second", taken));
        FAIL("two nodes served metrics on " << taken);
    } catch (const courier::SetupError& e) {
        CHECK(e.code() == courier::ErrorCode::os_error);
        CHECK_THAT(std::string(e.what()), Catch::Contains(taken));
    }
}

TEST_CASE("the metrics address may come from the node table of the config file",
          "[framework][metrics][config]") {
    auto options = alone("metrics-configured");
    options.config = courier::Config::parse("[node]\nmetrics_address = \"127.0.0.1:0\"\n", "t");
    courier::Node node(options);
    CHECK(node.metrics_endpoint().starts_with("127.0.0.1:"));
    // And the file refuses one that is not host:port, at its place.
    CHECK_THROWS_WITH(courier::Config::parse("[node]\nmetrics_address = \"9464\"\n", "t.toml"),
                      Catch::StartsWith("t.toml:2:19: node.metrics_address:"));
}

TEST_CASE("a node listens for metrics only when it has a metrics address", "[framework][metrics]") {
    const auto before = listening_tcp_sockets();
    {
        courier::Node plain(alone("metrics-none"));
        CHECK(plain.metrics_endpoint().empty());
        CHECK(listening_tcp_sockets() == before);
    }
    {
        courier::Node served(alone("metrics-some", "127.0.0.1:0"));
        CHECK(listening_tcp_sockets() == before + 1);
    }
    CHECK(listening_tcp_sockets() == before);  // closed when the node went
}
