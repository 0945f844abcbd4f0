// The terminal tables.
#include "results.hpp"
#include "veth_pair.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace courier::bench {

namespace {

std::string format(const char* spec, double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), spec, value);
    return buffer;
}

/// Three significant digits with k / M: 163 k, 1.25 M.
std::string rate(double value) {
    if (value >= 1e6)
        return format(value >= 1e8 ? "%.0f M" : value >= 1e7 ? "%.1f M" : "%.2f M", value / 1e6);
    if (value >= 1e3)
        return format(value >= 1e5 ? "%.0f k" : value >= 1e4 ? "%.1f k" : "%.2f k", value / 1e3);
    return format("%.0f", value);
}

std::string megabytes(double value) {
    return format(value >= 100 ? "%.0f" : "%.1f", value);
}
std::string micros(double ns) {
    const double us = ns / 1000;
    return format(us >= 100 ? "%.0f" : us >= 10 ? "%.1f" : "%.2f", us);
}
std::string ratio(const std::optional<double>& r) {
    return r ? format("%.2f", *r) : "-";
}

/// A cell for an implementation that has no figure: why.
std::string missing(const Medians& m) {
    if (m.status.starts_with("n/a")) return "n/a";
    return "FAILED";
}

void print_rows(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width(rows.front().size(), 0);
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            // Text columns left, figures right.
            const bool left = i < 2;
            const std::string pad(width[i] - row[i].size(), ' ');
            line += left ? row[i] + pad : pad + row[i];
            if (i + 1 < row.size()) line += "  ";
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        std::cout << line << "\n";
    }
}

std::string allocs(const std::optional<double>& v) {
    return v ? format("%.2f", *v) : "-";
}

std::string allocs(const Medians& m) {
    return allocs(m.allocs_sender) + " / " + allocs(m.allocs_receiver);
}

std::string seconds(double s) {
    return format(s >= 100 ? "%.0f" : s >= 10 ? "%.1f" : "%.2f", s);
}

/// Every slow-receiver run, one row each: memory, losses, and whether the consumer's pace
/// bounds the time (ELAPSED/BOUND near 1) and reaches the producer (SENDS near ELAPSED).
void print_slow_receiver(const Results& results) {
    const auto& o = *results.options;
    std::cout << "\nSlow receiver: " << *o.count << " messages of " << size_label(o.slow_size)
              << " to a consumer that takes "
              << format("%g", static_cast<double>(o.pace.count()) / 1000)
              << " us per message (seconds; peak resident memory, VmHWM, in MiB)\n";
    std::vector<std::vector<std::string>> rows{{"TRANSPORT", "PRODUCER", "MESSAGES", "ELAPSED",
                                                "BOUND", "ELAPSED/BOUND", "SENDS", "PEAK PRODUCER",
                                                "PEAK CONSUMER", "LOST", "STATUS"}};
    std::vector<std::string> failures;
    bool one_process = false;
    for (const auto& r : results.records) {
        if (r.kind != Kind::slow_receiver) continue;
        const auto& s = r.slow;
        std::vector<std::string> row{r.transport, to_string(r.producer), std::to_string(r.count)};
        if (s.sent == 0) {  // failed before any figure
            row.insert(row.end(), {"", "", "", "", "", "", "", "FAILED"});
        } else {
            one_process |= s.one_process;
            row.insert(row.end(),
                       {seconds(r.seconds), seconds(s.pace_bound_s),
                        s.pace_bound_s > 0 ? format("%.2f", r.seconds / s.pace_bound_s) : "-",
                        seconds(s.sends_s), megabytes(s.peak_mib_producer),
                        megabytes(s.peak_mib_consumer) + (s.one_process ? "*" : ""),
                        std::to_string(s.lost()), r.ok ? "ok" : "FAILED"});
        }
        if (!r.ok)
            failures.push_back(r.transport + " slow-receiver " + to_string(r.producer) +
                               " producer: " + r.error);
        rows.push_back(std::move(row));
    }
    print_rows(rows);
    if (one_process)
        std::cout << "* one process holds both ends: its peak is shown in both columns\n";
    if (!failures.empty()) {
        std::cout << "\n";
        for (const auto& f : failures) std::cout << "FAILED: " << f << "\n";
    }
}

}  // namespace

void print_tables(const Results& results) {
    const auto& o = *results.options;
    const auto& m = results.machine;
    std::cout << "courier-bench on " << m.cpu_model << " (" << m.cpus << " CPUs), " << m.kernel
              << "\n";
    if (o.scenario == Scenario::slow_receiver) return print_slow_receiver(results);
    std::cout << o.repeat << (o.repeat == 1 ? " run" : " runs (medians shown)")
              << " per measurement, courier and raw runs interleaved; "
              << (o.pin.size() == 2 ? "sender on CPU " + std::to_string(o.pin[0]) +
                                          ", receiver on CPU " + std::to_string(o.pin[1])
                                    : std::string("no CPU pinning"))
              << (o.veth ? "; " + VethPair::describe() : std::string()) << "\nraw baselines:\n";
    for (const auto& [name, what] : results.raw_settings)
        std::cout << "  " << name << ": " << what << "\n";

    std::vector<std::string> failures, notes;
    auto note_status = [&](const Summary& s, const Medians& med, const char* impl) {
        if (med.status.starts_with("FAILED"))
            failures.push_back(s.transport + " " + size_label(s.size) + " " + to_string(s.kind) +
                               " " + impl + ": " + med.status.substr(8));
        else if (med.status.starts_with("n/a"))
            notes.push_back(s.transport + ": " + med.status.substr(5));
    };

    if (o.throughput) {
        std::cout << "\nThroughput, one process to another (payload bytes; MB = 10^6 B)\n";
        std::vector<std::vector<std::string>> rows{{"TRANSPORT", "SIZE", "MESSAGES",
                                                    "COURIER MSG/S", "MB/S", "RAW MSG/S", "MB/S",
                                                    "COURIER/RAW"}};
        if (o.count_allocs) rows.front().push_back("ALLOCS/MSG SEND / RECV");
        for (const auto& s : results.summaries) {
            if (s.kind != Kind::throughput) continue;
            note_status(s, s.courier, "courier");
            note_status(s, s.raw, "raw");
            std::vector<std::string> row{s.transport, size_label(s.size), std::to_string(s.count)};
            for (const auto* med : {&s.courier, &s.raw}) {
                row.push_back(med->measured() ? rate(med->msgs_per_s) : missing(*med));
                row.push_back(med->measured() ? megabytes(med->mb_per_s) : "");
            }
            row.push_back(ratio(s.ratio));
            if (o.count_allocs) row.push_back(s.courier.measured() ? allocs(s.courier) : "");
            rows.push_back(std::move(row));
        }
        print_rows(rows);
    }
    if (o.latency) {
        std::cout << "\nRound-trip latency, ping-pong (microseconds)\n";
        std::vector<std::vector<std::string>> rows{{"TRANSPORT", "SIZE", "ROUND TRIPS",
                                                    "COURIER P50", "P99", "P99.9", "RAW P50", "P99",
                                                    "P99.9", "P50 COURIER/RAW"}};
        if (o.count_allocs) rows.front().push_back("ALLOCS/ROUND TRIP");
        for (const auto& s : results.summaries) {
            if (s.kind != Kind::latency) continue;
            note_status(s, s.courier, "courier");
            note_status(s, s.raw, "raw");
            std::vector<std::string> row{s.transport, size_label(s.size), std::to_string(s.count)};
            for (const auto* med : {&s.courier, &s.raw}) {
                row.push_back(med->measured() ? micros(med->p50_ns) : missing(*med));
                row.push_back(med->measured() ? micros(med->p99_ns) : "");
                row.push_back(med->measured() ? micros(med->p999_ns) : "");
            }
            row.push_back(ratio(s.ratio));
            if (o.count_allocs)
                row.push_back(s.courier.measured() ? allocs(s.courier.allocs_sender) : "");
            rows.push_back(std::move(row));
        }
        print_rows(rows);
    }
    std::sort(notes.begin(), notes.end());
    notes.erase(std::unique(notes.begin(), notes.end()), notes.end());
    if (!notes.empty()) {
        std::cout << "\n";
        for (const auto& n : notes) std::cout << "n/a: " << n << "\n";
    }
    if (!failures.empty()) {
        std::cout << "\n";
        for (const auto& f : failures) std::cout << "FAILED: " << f << "\n";
    }
}

}  // namespace courier::bench
