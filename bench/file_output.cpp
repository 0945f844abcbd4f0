// The CSV and JSON files.
#include "results.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace courier::bench {

namespace {

std::string number(double value) {
    if (!std::isfinite(value)) return "null";
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "%.6g", value);
    return buffer;
}

std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\n") == std::string::npos) return text;
    std::string out = "\"";
    for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buffer[8];
            std::snprintf(buffer, sizeof(buffer), "\\u%04x", static_cast<unsigned>(c));
            out += buffer;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string optional_number(const std::optional<double>& value) {
    return value ? number(*value) : "null";
}

std::string write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return "cannot write " + path;
    return {};
}

std::string medians_json(const Medians& m, Kind kind) {
    std::ostringstream out;
    out << "{\"status\": " << json_string(m.status) << ", \"runs\": " << m.runs
        << ", \"ok_runs\": " << m.ok_runs;
    if (m.measured()) {
        if (kind == Kind::throughput) {
            out << ", \"msgs_per_s\": " << number(m.msgs_per_s)
                << ", \"mb_per_s\": " << number(m.mb_per_s);
            if (m.allocs_sender || m.allocs_receiver)
                out << ", \"allocs_per_msg_sender\": " << optional_number(m.allocs_sender)
                    << ", \"allocs_per_msg_receiver\": " << optional_number(m.allocs_receiver);
        } else {
            out << ", \"p50_us\": " << number(m.p50_ns / 1000)
                << ", \"p99_us\": " << number(m.p99_ns / 1000)
                << ", \"p999_us\": " << number(m.p999_ns / 1000);
        }
    }
    out << "}";
    return out.str();
}

/// A slow-receiver run's figures as JSON members (after a comma).
std::string slow_receiver_json(const RunRecord& r, const BenchOptions& o) {
    const auto& s = r.slow;
    std::ostringstream out;
    out << "\"producer\": \"" << to_string(r.producer)
        << "\", \"pace_us\": " << number(static_cast<double>(o.pace.count()) / 1000)
        << ", \"sent\": " << s.sent << ", \"received\": " << s.received
        << ", \"lost\": " << s.lost() << ", \"out_of_order\": " << s.out_of_order
        << ", \"bound_s\": " << number(s.pace_bound_s) << ", \"elapsed_over_bound\": "
        << (s.pace_bound_s > 0 ? number(r.seconds / s.pace_bound_s) : "null")
        << ", \"sends_s\": " << number(s.sends_s)
        << ", \"peak_mib_producer\": " << number(s.peak_mib_producer)
        << ", \"peak_mib_consumer\": " << number(s.peak_mib_consumer)
        << ", \"one_process\": " << (s.one_process ? "true" : "false");
    return out.str();
}

/// Slow-receiver runs have no medians: one CSV row per run.
std::string slow_receiver_csv(const Results& results) {
    const auto& o = *results.options;
    std::ostringstream out;
    out << "kind,transport,producer,size,count,pace_us,repeat,status,sent,received,lost,"
           "out_of_order,elapsed_s,bound_s,elapsed_over_bound,sends_s,peak_mib_producer,"
           "peak_mib_consumer,one_process\n";
    for (const auto& r : results.records) {
        if (r.kind != Kind::slow_receiver) continue;
        const auto& s = r.slow;
        const bool measured = s.sent > 0;
        out << to_string(r.kind) << "," << r.transport << "," << to_string(r.producer) << ","
            << r.size << "," << r.count << "," << number(static_cast<double>(o.pace.count()) / 1000)
            << "," << r.repeat + 1 << "," << csv_field(r.ok ? "ok" : "FAILED: " + r.error) << ",";
        if (measured)
            out << s.sent << "," << s.received << "," << s.lost() << "," << s.out_of_order << ","
                << number(r.seconds) << "," << number(s.pace_bound_s) << ","
                << (s.pace_bound_s > 0 ? number(r.seconds / s.pace_bound_s) : "") << ","
                << number(s.sends_s) << "," << number(s.peak_mib_producer) << ","
                << number(s.peak_mib_consumer) << "," << (s.one_process ? "true" : "false");
        else
            out << ",,,,,,,,,,";
        out << "\n";
    }
    return out.str();
}

}  // namespace

std::string write_csv(const Results& results, const std::string& path) {
    if (results.options->scenario == Scenario::slow_receiver)
        return write_file(path, slow_receiver_csv(results));
    std::ostringstream out;
    out << "kind,transport,size,impl,count,runs,ok_runs,status,msgs_per_s,mb_per_s,p50_us,"
           "p99_us,p999_us,ratio,allocs_per_msg_sender,allocs_per_msg_receiver\n";
    for (const auto& s : results.summaries) {
        for (auto impl : {Impl::courier, Impl::raw}) {
            const Medians& m = impl == Impl::courier ? s.courier : s.raw;
            const bool tp = s.kind == Kind::throughput && m.measured();
            const bool lat = s.kind == Kind::latency && m.measured();
            auto opt = [](const std::optional<double>& v) { return v ? number(*v) : ""; };
            out << to_string(s.kind) << "," << s.transport << "," << s.size << ","
                << to_string(impl) << "," << s.count << "," << m.runs << "," << m.ok_runs << ","
                << csv_field(m.status) << "," << (tp ? number(m.msgs_per_s) : "") << ","
                << (tp ? number(m.mb_per_s) : "") << "," << (lat ? number(m.p50_ns / 1000) : "")
                << "," << (lat ? number(m.p99_ns / 1000) : "") << ","
                << (lat ? number(m.p999_ns / 1000) : "") << "," << (s.ratio ? number(*s.ratio) : "")
                << "," << opt(m.allocs_sender) << "," << opt(m.allocs_receiver) << "\n";
        }
    }
    return write_file(path, out.str());
}

std::string write_json(const Results& results, const std::string& path) {
    const auto& o = *results.options;
    const auto& machine = results.machine;
    std::ostringstream out;
    out << "{\n  \"tool\": \"courier-bench\",\n  \"machine\": {\"cpu\": "
        << json_string(machine.cpu_model) << ", \"cpus\": " << machine.cpus
        << ", \"kernel\": " << json_string(machine.kernel)
        << ", \"hostname\": " << json_string(machine.hostname) << "},\n";
    out << "  \"options\": {\"scenario\": \""
        << (o.scenario == Scenario::slow_receiver ? "slow-receiver" : "standard")
        << "\", \"repeat\": " << o.repeat << ", \"quick\": " << (o.quick ? "true" : "false")
        << ", \"threads\": " << o.threads << ", \"pin\": [";
    for (std::size_t i = 0; i < o.pin.size(); ++i) out << (i ? ", " : "") << o.pin[i];
    out << "], \"count_allocs\": " << (o.count_allocs ? "true" : "false")
        << ", \"veth\": " << (o.veth ? "true" : "false") << "},\n";
    out << "  \"raw_settings\": {";
    for (std::size_t i = 0; i < results.raw_settings.size(); ++i)
        out << (i ? ", " : "") << json_string(results.raw_settings[i].first) << ": "
            << json_string(results.raw_settings[i].second);
    out << "},\n";
    for (auto kind : {Kind::throughput, Kind::latency}) {
        out << "  \"" << to_string(kind) << "\": [";
        bool first = true;
        for (const auto& s : results.summaries) {
            if (s.kind != kind) continue;
            out << (first ? "\n" : ",\n") << "    {\"transport\": " << json_string(s.transport)
                << ", \"size\": " << s.size << ", \"count\": " << s.count
                << ", \"courier\": " << medians_json(s.courier, kind)
                << ", \"raw\": " << medians_json(s.raw, kind)
                << ", \"ratio\": " << optional_number(s.ratio) << "}";
            first = false;
        }
        out << (first ? "],\n" : "\n  ],\n");
    }
    out << "  \"runs\": [";
    for (std::size_t i = 0; i < results.records.size(); ++i) {
        const auto& r = results.records[i];
        out << (i ? ",\n" : "\n") << "    {\"kind\": \"" << to_string(r.kind)
            << "\", \"transport\": " << json_string(r.transport) << ", \"size\": " << r.size
            << ", \"impl\": \"" << to_string(r.impl) << "\", \"repeat\": " << r.repeat
            << ", \"count\": " << r.count << ", \"ok\": " << (r.ok ? "true" : "false")
            << ", \"error\": " << json_string(r.error) << ", \"seconds\": " << number(r.seconds);
        if (r.kind == Kind::slow_receiver)
            out << ", " << slow_receiver_json(r, o);
        else if (r.kind == Kind::throughput)
            out << ", \"msgs_per_s\": " << number(r.msgs_per_s)
                << ", \"mb_per_s\": " << number(r.mb_per_s)
                << ", \"allocs_per_msg_sender\": " << optional_number(r.allocs_sender)
                << ", \"allocs_per_msg_receiver\": " << optional_number(r.allocs_receiver);
        else
            out << ", \"p50_us\": " << number(r.p50_ns / 1000)
                << ", \"p99_us\": " << number(r.p99_ns / 1000)
                << ", \"p999_us\": " << number(r.p999_ns / 1000)
                << ", \"min_us\": " << number(r.min_ns / 1000)
                << ", \"max_us\": " << number(r.max_ns / 1000);
        out << "}";
    }
    out << (results.records.empty() ? "]\n}\n" : "\n  ]\n}\n");
    return write_file(path, out.str());
}

}  // namespace courier::bench
