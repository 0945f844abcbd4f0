#pragma once
/// @file
/// What runs produce: one record per run, and per measurement (transport, kind, size)
/// the medians of its courier and raw runs with their ratio.

#include "options.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace courier::bench {

enum class Impl { courier, raw };
const char* to_string(Impl impl) noexcept;

/// What a slow-receiver run shows (Kind::slow_receiver; courier only).
struct SlowReceiverFigures {
    std::uint64_t sent = 0, received = 0;
    std::uint64_t out_of_order = 0;  ///< Payloads whose seq was not the one after the last
    double pace_bound_s = 0;         ///< count x pace: the least time the consumer needs
    double sends_s = 0;              ///< the producer's first send to its last send's return
    double peak_mib_producer = 0, peak_mib_consumer = 0;  ///< VmHWM, MiB
    bool one_process = false;                             ///< both ends in one process
    /// Sent minus received: must be 0.
    std::int64_t lost() const noexcept {
        return static_cast<std::int64_t>(sent) - static_cast<std::int64_t>(received);
    }
};

/// One run of one implementation.
struct RunRecord {
    Kind kind = Kind::throughput;
    std::string transport;
    std::size_t size = 0;
    Impl impl = Impl::courier;
    int repeat = 0;
    std::uint64_t count = 0;  ///< messages, or measured round trips
    bool ok = false;
    std::string error;
    double seconds = 0;
    double msgs_per_s = 0, mb_per_s = 0;                                 ///< throughput
    double p50_ns = 0, p99_ns = 0, p999_ns = 0, min_ns = 0, max_ns = 0;  ///< latency
    std::optional<double> allocs_sender, allocs_receiver;  ///< per message, --count-allocs
    Producer producer = Producer::actor;                   ///< slow receiver
    SlowReceiverFigures slow;                              ///< slow receiver
};

/// The medians of the successful runs of one implementation.
struct Medians {
    std::string status;  ///< "ok", "FAILED: <first error>", or "n/a: <why>"
    int runs = 0, ok_runs = 0;
    double msgs_per_s = 0, mb_per_s = 0;
    double p50_ns = 0, p99_ns = 0, p999_ns = 0;
    std::optional<double> allocs_sender, allocs_receiver;
    bool measured() const noexcept { return ok_runs > 0; }
};

struct Summary {
    Kind kind = Kind::throughput;
    std::string transport;
    std::size_t size = 0;
    std::uint64_t count = 0;
    Medians courier, raw;
    /// Throughput: courier msg/s ÷ raw msg/s (above 1: courier is faster). Latency:
    /// courier p50 ÷ raw p50 (above 1: courier is slower). Empty without both.
    std::optional<double> ratio;
};

/// A measurement the plan holds: the summaries are made in this order.
struct Measurement {
    Kind kind;
    std::string transport;
    std::size_t size;
    std::uint64_t count;
    std::string courier_unavailable;      ///< why there is no courier run; empty if there is
    std::string raw_unavailable;          ///< why there is no raw run; empty if there is
    Producer producer = Producer::actor;  ///< slow receiver
};

/// Throughput and latency measurements only: slow-receiver runs are shown one by one.
std::vector<Summary> summarize(const std::vector<Measurement>& plan,
                               const std::vector<RunRecord>& records);

/// The host, for the report.
struct Machine {
    std::string cpu_model;
    long cpus = 0;
    std::string kernel;
    std::string hostname;
};
Machine describe_machine();

/// Everything the outputs show.
struct Results {
    Machine machine;
    const BenchOptions* options = nullptr;
    std::vector<std::pair<std::string, std::string>> raw_settings;  ///< mechanism, what was used
    std::vector<RunRecord> records;
    std::vector<Summary> summaries;
};

/// The terminal tables.
void print_tables(const Results& results);
/// Write files; each returns an error message, or empty on success.
std::string write_csv(const Results& results, const std::string& path);
std::string write_json(const Results& results, const std::string& path);
std::string write_chart(const Results& results, const std::string& path);

}  // namespace courier::bench
