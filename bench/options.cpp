#include "options.hpp"

#include <sched.h>

#include "transports.hpp"

#include <CLI/CLI.hpp>
#include <courier/version.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iostream>

namespace courier::bench {

const char* to_string(Kind kind) noexcept {
    switch (kind) {
        case Kind::throughput:
            return "throughput";
        case Kind::latency:
            return "latency";
        case Kind::slow_receiver:
            return "slow-receiver";
    }
    return "?";
}

const char* to_string(Producer producer) noexcept {
    return producer == Producer::actor ? "actor" : "thread";
}

std::optional<std::size_t> parse_size(const std::string& text) {
    std::size_t value = 0;
    const char* end = text.data() + text.size();
    auto [rest, error] = std::from_chars(text.data(), end, value);
    if (error != std::errc{} || rest == text.data()) return std::nullopt;
    std::string unit(rest, end);
    std::transform(unit.begin(), unit.end(), unit.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::size_t scale = 1;
    if (unit.empty() || unit == "b")
        scale = 1;
    else if (unit == "k" || unit == "kib")
        scale = std::size_t{1} << 10;
    else if (unit == "m" || unit == "mib")
        scale = std::size_t{1} << 20;
    else
        return std::nullopt;
    return value * scale;
}

std::string size_label(std::size_t size) {
    if (size >= (std::size_t{1} << 20) && size % (std::size_t{1} << 20) == 0)
        return std::to_string(size >> 20) + " MiB";
    if (size >= 1024 && size % 1024 == 0) return std::to_string(size >> 10) + " KiB";
    return std::to_string(size) + " B";
}

std::uint64_t BenchOptions::messages_for(std::size_t size) const {
    if (count) return *count;
    // About the same bytes per size, within bounds: small payloads are limited by
    // messages, large ones by bytes (and by what a receiver's mailbox may hold at once).
    const std::uint64_t budget = quick ? (std::uint64_t{64} << 20) : (std::uint64_t{512} << 20);
    const std::uint64_t most = quick ? 20'000 : 500'000;
    const std::uint64_t least = quick ? 64 : 256;
    return std::clamp<std::uint64_t>(budget / std::max<std::size_t>(size, 1), least, most);
}

std::uint64_t BenchOptions::round_trips_or_default() const {
    return round_trips ? *round_trips : (quick ? 2'000 : 20'000);
}

std::uint64_t BenchOptions::warmup_or_default() const {
    return warmup ? *warmup : (quick ? 200 : 1'000);
}

namespace {

std::vector<std::size_t> sizes_of(const std::vector<std::string>& texts, const char* option) {
    std::vector<std::size_t> sizes;
    for (const auto& text : texts) {
        auto size = parse_size(text);
        if (!size || *size == 0)
            throw CLI::ValidationError(option, "'" + text + "' is not a size (64, 4K, 1M, ...)");
        sizes.push_back(*size);
    }
    return sizes;
}

Producer producer_of(const std::string& text) {
    return text == "thread" ? Producer::thread : Producer::actor;
}

/// Options that mean something in one scenario only: given in the other, they are an
/// error rather than silently ignored.
void check_scenario_options(const CLI::App& app, Scenario scenario) {
    const bool slow = scenario == Scenario::slow_receiver;
    const std::vector<std::string> standard_only{
        "--sizes", "--latency-sizes", "--round-trips", "--warmup",
        "--only",  "--impl",          "--count-allocs"};
    const std::vector<std::string> slow_only{"--size", "--pace-us", "--producers"};
    for (const auto& name : slow ? standard_only : slow_only)
        if (app.count(name) > 0)
            throw CLI::ValidationError(name, slow ? "not used by --scenario slow-receiver"
                                                  : "only used by --scenario slow-receiver");
}

/// The CPUs of --scenario cpu-each (the first two this process may use) or one-cpu (the
/// first, for both sides).
std::vector<int> scenario_cpus(bool one) {
    cpu_set_t mask;
    CPU_ZERO(&mask);
    std::vector<int> cpus;
    if (::sched_getaffinity(0, sizeof mask, &mask) == 0) {
        for (int cpu = 0; cpu < CPU_SETSIZE && cpus.size() < 2; ++cpu)
            if (CPU_ISSET(static_cast<std::size_t>(cpu), &mask)) cpus.push_back(cpu);
    }
    if (cpus.empty()) cpus.push_back(0);
    if (one) return {cpus[0], cpus[0]};
    if (cpus.size() < 2)
        throw CLI::ValidationError("--scenario",
                                   "cpu-each needs two CPUs; this process may use one");
    return cpus;
}

std::string all_transports() {
    std::string names;
    for (const auto& row : transport_table()) names += (names.empty() ? "" : ",") + row.name;
    return names;
}

}  // namespace

Parsed parse_options(int argc, char** argv) {
    CLI::App app{
        "courier-bench: courier's throughput and round-trip latency between two processes "
        "(and two actors of one process), beside the raw mechanism under each transport"};
    app.set_version_flag("--version", COURIER_VERSION);
    BenchOptions bench;
    std::vector<std::string> transports, sizes{"64", "4K", "64K", "1M"}, latency_sizes{"64", "4K"};
    std::string only, impl, scenario = "standard", slow_size = "1K";
    std::vector<std::string> producers{"actor", "thread"};
    double pace_us = 10;
    app.add_option("--scenario", scenario,
                   "standard: throughput and latency beside the raw mechanisms (default); "
                   "slow-receiver: a producer floods a consumer that takes --pace-us per "
                   "message, courier alone, and the memory of both processes is measured; "
                   "cpu-each: standard, each process on a CPU of its own (the first two it "
                   "may use), as in containers limited to one CPU; one-cpu: standard, both "
                   "processes on one CPU; veth: standard over tcp, each process in a network "
                   "namespace of its own, joined by a veth pair, as two hosts are (root only)")
        ->check(CLI::IsMember({"standard", "slow-receiver", "cpu-each", "one-cpu", "veth"}));
    app.add_option("--transports", transports,
                   "transports to measure, comma-separated (default: " + all_transports() + ")")
        ->delimiter(',');
    app.add_option("--sizes", sizes, "throughput payload sizes (default: 64,4K,64K,1M)")
        ->delimiter(',');
    app.add_option("--latency-sizes", latency_sizes, "round-trip payload sizes (default: 64,4K)")
        ->delimiter(',');
    app.add_option(
        "--count", bench.count,
        "messages per throughput run (default: by size, 256..500000; --quick 64..20000); "
        "slow receiver: messages per run (default: 1000000; --quick 20000)");
    app.add_option("--size", slow_size, "slow receiver: the payload size (default: 1K)");
    app.add_option("--pace-us", pace_us,
                   "slow receiver: microseconds the consumer takes per message, "
                   "busy-waiting on the clock (default: 10)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--producers", producers,
                   "slow receiver: how the producer sends, comma-separated: actor (an actor, "
                   "64 messages per turn), thread (Node::send in a loop) (default: actor,thread)")
        ->delimiter(',')
        ->check(CLI::IsMember({"actor", "thread"}));
    app.add_option("--round-trips", bench.round_trips,
                   "measured round trips per latency run (default: 20000; --quick 2000)");
    app.add_option("--warmup", bench.warmup,
                   "round trips before the measured ones (default: 1000; --quick 200)");
    app.add_option("--repeat", bench.repeat,
                   "runs of each measurement; the tables show medians (default: 3; --quick 1)")
        ->check(CLI::PositiveNumber);
    app.add_flag("--quick", bench.quick,
                 "small counts, one run each: everything in about a minute");
    app.add_option("--only", only, "measure only throughput or only latency")
        ->check(CLI::IsMember({"throughput", "latency"}));
    app.add_option("--impl", impl,
                   "measure only courier or only the raw mechanisms (default: both)")
        ->check(CLI::IsMember({"courier", "raw"}));
    app.add_option("--pin", bench.pin,
                   "CPUs of the sender and the receiver, e.g. --pin 0,1 (default: no pinning)")
        ->delimiter(',')
        ->expected(2)
        ->check(CLI::NonNegativeNumber);
    app.add_option("--threads", bench.threads,
                   "worker threads of each courier node (default: the node's own choice, from "
                   "its CPUs: 2, or 1 on fewer than 2)")
        ->check(CLI::NonNegativeNumber);
    app.add_flag("--count-allocs", bench.count_allocs,
                 "count heap allocations per message in steady state (courier runs)");
    std::int64_t timeout_s = bench.timeout.count();
    app.add_option("--timeout", timeout_s,
                   "seconds one run may take before it fails (default: 120)")
        ->check(CLI::PositiveNumber);
    app.add_option("--csv", bench.csv, "write the results as CSV to this file");
    app.add_option("--json", bench.json, "write the results and every run as JSON to this file");
    app.add_option("--png", bench.png, "draw throughput by size per transport (needs gnuplot)");

    // Hidden: the measured processes are copies of this program.
    RoleOptions role;
    std::string side = "a", kind = "throughput", producer = "actor", cpus;
    const char* hidden = "";
    app.add_flag("--inject-fault", bench.inject_fault, "corrupt one payload per run")
        ->group(hidden);
    app.add_option("--role", role.role)->group(hidden)->check(CLI::IsMember({"courier", "raw"}));
    app.add_option("--side", side)->group(hidden)->check(CLI::IsMember({"a", "b", "both"}));
    app.add_option("--kind", kind)
        ->group(hidden)
        ->check(CLI::IsMember({"throughput", "latency", "slow-receiver"}));
    app.add_option("--transport", role.transport)->group(hidden);
    app.add_option("--run-id", role.run_id)->group(hidden);
    app.add_option("--payload-bytes", role.size)->group(hidden);
    app.add_option("--messages", role.count)->group(hidden);
    app.add_option("--warmup-rounds", role.warmup)->group(hidden);
    app.add_option("--report-fd", role.report_fd)->group(hidden);
    app.add_option("--control-fd", role.control_fd)->group(hidden);
    app.add_option("--cpus", role.cpus)->group(hidden)->delimiter(',');
    app.add_option("--raw-spec", role.raw_spec)->group(hidden);
    app.add_option("--pace-ns", role.pace_ns)->group(hidden);
    app.add_option("--producer", producer)
        ->group(hidden)
        ->check(CLI::IsMember({"actor", "thread"}));
    app.add_option("--spawn-peer", role.spawn_peer)->group(hidden)->delimiter('\x1f');

    try {
        app.parse(argc, argv);
        Options options;
        if (!role.role.empty()) {
            role.side = side == "a" ? Side::a : side == "b" ? Side::b : Side::both;
            role.kind = kind == "latency"         ? Kind::latency
                        : kind == "slow-receiver" ? Kind::slow_receiver
                                                  : Kind::throughput;
            role.producer = producer_of(producer);
            role.threads = bench.threads;
            role.count_allocs = bench.count_allocs;
            role.inject_fault = bench.inject_fault;
            if (role.report_fd < 0 || role.control_fd < 0 || role.size == 0 ||
                find_transport(role.transport) == nullptr)
                throw CLI::ValidationError("--role",
                                           "a peer needs its report and control fds, "
                                           "a size and a known transport");
            options.role = role;
            return {options, 0};
        }
        bench.scenario = scenario == "slow-receiver" ? Scenario::slow_receiver : Scenario::standard;
        check_scenario_options(app, bench.scenario);
        if (scenario == "cpu-each" || scenario == "one-cpu") {
            if (app.count("--pin") > 0)
                throw CLI::ValidationError("--pin",
                                           "--scenario " + scenario + " chooses the CPUs itself");
            bench.pin = scenario_cpus(scenario == "one-cpu");
        }
        bench.veth = scenario == "veth";
        bench.transports = transports;
        if (bench.veth) {
            // What crosses hosts: tcp alone today, beside raw tcp written one message per call.
            if (bench.transports.empty()) bench.transports = {"tcp", "tcp-each"};
            for (const auto& name : bench.transports)
                if (name != "tcp" && name != "tcp-each")
                    throw CLI::ValidationError("--transports",
                                               "--scenario veth measures tcp, the transport "
                                               "that crosses hosts, and tcp-each; not '" +
                                                   name + "'");
        }
        if (bench.transports.empty())
            for (const auto& row : transport_table()) bench.transports.push_back(row.name);
        for (const auto& name : bench.transports)
            if (find_transport(name) == nullptr)
                throw CLI::ValidationError(
                    "--transports",
                    "unknown transport '" + name + "' (known: " + all_transports() + ")");
        bench.sizes = sizes_of(sizes, "--sizes");
        bench.latency_sizes = sizes_of(latency_sizes, "--latency-sizes");
        bench.throughput = only != "latency";
        bench.latency = only != "throughput";
        bench.courier_runs = impl != "raw";
        bench.raw_runs = impl != "courier";
        if (bench.quick && app.count("--repeat") == 0) bench.repeat = 1;
        bench.timeout = std::chrono::seconds(timeout_s);
        if (bench.scenario == Scenario::slow_receiver) {
            auto size = parse_size(slow_size);
            if (!size || *size == 0)
                throw CLI::ValidationError("--size",
                                           "'" + slow_size + "' is not a size (64, 1K, 1M, ...)");
            bench.slow_size = *size;
            bench.pace = std::chrono::nanoseconds(static_cast<std::int64_t>(pace_us * 1000));
            bench.producers.clear();
            for (const auto& name : producers) bench.producers.push_back(producer_of(name));
            if (!bench.count)
                bench.count = bench.quick ? BenchOptions::slow_receiver_quick_count
                                          : BenchOptions::slow_receiver_count;
            // One run each unless asked: a run lasts at least count x pace.
            if (app.count("--repeat") == 0) bench.repeat = 1;
            bench.throughput = bench.latency = false;
            if (app.count("--timeout") == 0) {
                // Room for a loaded machine: four times the consumer's bound, plus a minute.
                const auto bound = std::chrono::duration_cast<std::chrono::seconds>(
                    bench.pace * static_cast<std::int64_t>(*bench.count));
                bench.timeout = std::max(bench.timeout, std::chrono::seconds(60) + 4 * bound);
            }
        }
        options.bench = std::move(bench);
        return {options, 0};
    } catch (const CLI::ParseError& e) {
        return {std::nullopt, app.exit(e)};
    }
}

}  // namespace courier::bench
