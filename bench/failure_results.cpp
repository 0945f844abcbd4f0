#include "failure_results.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>

namespace courier::failure_times {

namespace {

/// Two or three significant digits: 0.123, 1.23, 12.3, 123.
std::string format_ms(double ms) {
    char text[32];
    const char* format = ms < 1 ? "%.3f" : ms < 10 ? "%.2f" : ms < 100 ? "%.1f" : "%.0f";
    std::snprintf(text, sizeof(text), format, ms);
    return text;
}

struct Summary {
    std::size_t seen = 0;
    double median = 0, max = 0;
    std::map<std::string, std::size_t> unexpected;  ///< outcome (or "nothing") -> rounds
};

Summary summarize(const std::vector<Sample>& samples, const std::string& expected) {
    Summary summary;
    std::vector<double> times;
    for (const auto& sample : samples) {
        if (!sample.ms) {
            if (expected != nothing_expected) ++summary.unexpected["nothing within the deadline"];
            continue;
        }
        times.push_back(*sample.ms);
        if (!expected.empty() && sample.outcome != expected) ++summary.unexpected[sample.outcome];
    }
    summary.seen = times.size();
    if (times.empty()) return summary;
    std::sort(times.begin(), times.end());
    const std::size_t middle = times.size() / 2;
    summary.median =
        times.size() % 2 == 1 ? times[middle] : (times[middle - 1] + times[middle]) / 2;
    summary.max = times.back();
    return summary;
}

std::string quoted(const std::string& text) {
    std::string out = "\"";
    for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

}  // namespace

std::string cell(const std::vector<Sample>& samples, const std::string& expected) {
    if (samples.empty()) return "–";
    const Summary summary = summarize(samples, expected);
    std::string text =
        summary.seen == 0 ? "never" : format_ms(summary.median) + " / " + format_ms(summary.max);
    std::string odd;
    for (const auto& [outcome, rounds] : summary.unexpected)
        odd += (odd.empty() ? "" : ", ") + outcome + " ×" + std::to_string(rounds);
    return odd.empty() ? text : text + " (" + odd + ")";
}

Row& Results::row(const std::string& failure, const std::string& party, const std::string& expected,
                  bool in_process) {
    for (auto& row : rows_)
        if (row.failure == failure && row.party == party) return row;
    rows_.push_back(Row{failure, party, expected, in_process, {}, {}});
    return rows_.back();
}

void Results::markdown(std::ostream& out, const std::vector<std::string>& transports) const {
    out << "| failure | party: what it sees |";
    for (const auto& transport : transports) out << " `" << transport << "` |";
    out << "\n| --- | --- |";
    for (std::size_t i = 0; i < transports.size(); ++i) out << " --- |";
    out << "\n";
    for (const auto& row : rows_) {
        out << "| " << row.failure << " | " << row.party << " |";
        if (row.in_process) {
            // Measured once: one cell, which GitHub's Markdown widens with empty ones.
            for (const auto& [where, samples] : row.samples)
                out << " " << cell(samples, row.expected) << " (" << where << ") |";
            out << "\n";
            continue;
        }
        for (const auto& transport : transports) {
            auto found = row.samples.find(transport);
            out << " "
                << (found == row.samples.end() ? "–"
                                               : cell(found->second, row.expected_for(transport)))
                << " |";
        }
        out << "\n";
    }
    if (traffic_.empty()) return;
    out << "| " << registry_dies << " | requests over the open link meanwhile: lost |";
    for (const auto& transport : transports) {
        auto found = traffic_.find(transport);
        if (found == traffic_.end())
            out << " – |";
        else
            out << " " << found->second.lost << " of " << found->second.sent << " |";
    }
    out << "\n";
}

void Results::csv(std::ostream& out) const {
    out << "failure,party,transport,expected,rounds,seen,median_ms,max_ms,outcomes\n";
    for (const auto& row : rows_) {
        for (const auto& [transport, samples] : row.samples) {
            const std::string& expected = row.expected_for(transport);
            const Summary summary = summarize(samples, expected);
            std::map<std::string, std::size_t> outcomes;
            for (const auto& sample : samples)
                ++outcomes[sample.ms ? sample.outcome : std::string("nothing")];
            std::string listed;
            for (const auto& [outcome, rounds] : outcomes)
                listed += (listed.empty() ? "" : ";") + outcome + ":" + std::to_string(rounds);
            out << quoted(row.failure) << "," << quoted(row.party) << "," << transport << ","
                << quoted(expected) << "," << samples.size() << "," << summary.seen << ",";
            if (summary.seen > 0)
                out << summary.median << "," << summary.max;
            else
                out << ",";
            out << "," << quoted(listed) << "\n";
        }
    }
    for (const auto& [transport, traffic] : traffic_)
        out << quoted(registry_dies) << "," << quoted("requests over the open link: lost") << ","
            << transport << ",\"0\"," << traffic.sent << "," << traffic.sent - traffic.lost << ",,,"
            << quoted("lost:" + std::to_string(traffic.lost) +
                      ";answered_during_outage:" + std::to_string(traffic.during_outage))
            << "\n";
}

std::vector<std::string> Results::surprises() const {
    std::vector<std::string> found;
    for (const auto& row : rows_) {
        for (const auto& [transport, samples] : row.samples) {
            for (std::size_t i = 0; i < samples.size(); ++i) {
                const auto& sample = samples[i];
                const std::string where = row.failure + ", " + row.party + ", " + transport +
                                          ", round " + std::to_string(i + 1) + ": ";
                const std::string& expected = row.expected_for(transport);
                if (expected == nothing_expected) {
                    if (sample.ms)
                        found.push_back(where + "saw " + sample.outcome + ", expected nothing");
                } else if (!sample.ms)
                    found.push_back(where + "nothing within the deadline");
                else if (!expected.empty() && sample.outcome != expected)
                    found.push_back(where + "saw " + sample.outcome + ", not " + expected);
            }
        }
    }
    for (const auto& [transport, traffic] : traffic_)
        if (traffic.lost > 0)
            found.push_back(std::string(registry_dies) + ", " + transport + ": " +
                            std::to_string(traffic.lost) + " of " + std::to_string(traffic.sent) +
                            " requests on the open link were lost");
    return found;
}

}  // namespace courier::failure_times
