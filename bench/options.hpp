#pragma once
/// @file
/// What courier-bench is asked to do: the options of a run (the orchestrator), and the
/// hidden options with which it starts copies of itself as the measured processes.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace courier::bench {

enum class Kind { throughput, latency, slow_receiver };
const char* to_string(Kind kind) noexcept;

/// What a bench run measures: throughput and latency beside the raw mechanisms, or a
/// producer flooding a consumer that is slower than it (issue #16), courier alone.
enum class Scenario { standard, slow_receiver };

/// How the slow-receiver scenario's producer sends: as an actor, in turns of a bounded
/// batch; or with Node::send from a plain thread, in a loop.
enum class Producer { actor, thread };
const char* to_string(Producer producer) noexcept;

/// The user's options.
struct BenchOptions {
    std::vector<std::string> transports;  ///< names of transport_table() rows, in order
    std::vector<std::size_t> sizes;       ///< throughput payload sizes
    std::vector<std::size_t> latency_sizes;
    std::optional<std::uint64_t> count;        ///< messages per throughput run; default by size
    std::optional<std::uint64_t> round_trips;  ///< measured round trips per latency run
    std::optional<std::uint64_t> warmup;       ///< unmeasured round trips before them
    int repeat = 3;
    bool quick = false;
    bool throughput = true;
    bool latency = true;
    bool courier_runs = true;  ///< --impl: measure courier, the raw mechanism, or both
    bool raw_runs = true;
    bool count_allocs = false;
    bool inject_fault = false;  ///< hidden: corrupt one payload per run (tests the checks)
    std::vector<int> pin;       ///< {sender CPU, receiver CPU}; empty: no pinning
    bool veth = false;          ///< each side in a network namespace, joined by a veth pair
    std::size_t threads = 0;    ///< threads of each courier node; 0: the node's choice
    std::chrono::seconds timeout{120};
    std::string csv, json, png;
    Scenario scenario = Scenario::standard;
    /// Slow receiver: the payload size, the consumer's time per message and the ways of
    /// producing (the count is `count`, by default slow_receiver_count).
    std::size_t slow_size = 1024;
    std::chrono::nanoseconds pace{std::chrono::microseconds(10)};
    std::vector<Producer> producers{Producer::actor, Producer::thread};
    static constexpr std::uint64_t slow_receiver_count = 1'000'000;
    static constexpr std::uint64_t slow_receiver_quick_count = 20'000;

    /// Messages of a throughput run of `size` bytes.
    std::uint64_t messages_for(std::size_t size) const;
    std::uint64_t round_trips_or_default() const;
    std::uint64_t warmup_or_default() const;
};

/// Which end of a measurement a started copy plays.
enum class Side { a, b, both };  ///< a: sender / pinger; b: receiver / echo; both: one process

/// The hidden options of a started copy (`--role`).
struct RoleOptions {
    std::string role;  ///< "courier" or "raw"
    Side side = Side::a;
    Kind kind = Kind::throughput;
    std::string transport;  ///< a transport_table() name
    std::string run_id;
    std::size_t size = 0;
    std::uint64_t count = 0;              ///< messages, or measured round trips
    std::uint64_t warmup = 0;             ///< round trips before the measured ones
    int report_fd = -1;                   ///< where to write "ready", "result ...", "error ..."
    int control_fd = -1;                  ///< 'g' starts the run; end of file ends the process
    std::vector<int> cpus;                ///< CPUs to run on; empty: any
    std::uint64_t pace_ns = 0;            ///< slow receiver: the consumer's time per message
    Producer producer = Producer::actor;  ///< slow receiver
    std::string raw_spec;                 ///< how to open the raw mechanism (raw roles)
    /// Side a of a spawned row: side b's role arguments (without its fds), which side a
    /// starts with Node::spawn_process; empty otherwise.
    std::vector<std::string> spawn_peer;
    std::size_t threads = 0;  ///< 0: the node's own choice
    bool count_allocs = false;
    bool inject_fault = false;
};

struct Options {
    std::optional<RoleOptions> role;  ///< set when started as a peer
    BenchOptions bench;
};

/// Parses the command line. Returns the options, or an exit code after printing help or
/// an error.
struct Parsed {
    std::optional<Options> options;
    int exit_code = 0;
};
Parsed parse_options(int argc, char** argv);

/// "64", "4K", "4KiB", "1M" → bytes; nullopt if malformed.
std::optional<std::size_t> parse_size(const std::string& text);
/// 64 → "64 B", 4096 → "4 KiB", 1048576 → "1 MiB".
std::string size_label(std::size_t size);

}  // namespace courier::bench
