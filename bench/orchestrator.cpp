#include "orchestrator.hpp"

#include "peer_process.hpp"
#include "private_registry.hpp"
#include "raw_mechanism.hpp"
#include "results.hpp"
#include "transports.hpp"
#include "veth_pair.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

namespace courier::bench {

namespace {

/// Set by SIGINT / SIGTERM: the run in progress is abandoned and everything it made is
/// removed (peers killed, queues, FIFOs and the registry gone) before the program exits.
volatile std::sig_atomic_t interrupted = 0;

void on_interrupt(int) {
    interrupted = 1;
}

void catch_interrupts() {
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
}

std::vector<Measurement> plan_measurements(const BenchOptions& o) {
    std::vector<Measurement> plan;
    for (const auto& name : o.transports) {
        const TransportRow& row = *find_transport(name);
        const bool no_courier = row.courier == CourierMode::not_yet ||
                                row.courier == CourierMode::other_library ||
                                row.courier == CourierMode::baseline_only;
        const std::string unavailable = no_courier       ? row.note
                                        : o.courier_runs ? ""
                                                         : "not measured (--impl raw)";
        const std::string raw_unavailable = o.raw_runs ? "" : "not measured (--impl courier)";
        if (o.scenario == Scenario::slow_receiver)
            for (auto producer : o.producers)
                plan.push_back(
                    {Kind::slow_receiver, name, o.slow_size, *o.count, unavailable, "", producer});
        if (o.throughput)
            for (auto size : o.sizes)
                plan.push_back({Kind::throughput, name, size, o.messages_for(size), unavailable,
                                raw_unavailable});
        if (o.latency)
            for (auto size : o.latency_sizes)
                plan.push_back({Kind::latency, name, size, o.round_trips_or_default(), unavailable,
                                raw_unavailable});
    }
    return plan;
}

std::string cpus_of(const BenchOptions& o, Side side) {
    if (o.pin.size() != 2) return {};
    if (side == Side::a) return std::to_string(o.pin[0]);
    if (side == Side::b) return std::to_string(o.pin[1]);
    return std::to_string(o.pin[0]) + "," + std::to_string(o.pin[1]);
}

std::uint64_t field(const std::map<std::string, std::string>& fields, const std::string& key) {
    auto it = fields.find(key);
    if (it == fields.end()) throw std::runtime_error("a peer's result lacks '" + key + "'");
    return std::stoull(it->second);
}

double real_field(const std::map<std::string, std::string>& fields, const std::string& key) {
    auto it = fields.find(key);
    if (it == fields.end()) throw std::runtime_error("a peer's result lacks '" + key + "'");
    return std::stod(it->second);
}

std::optional<double> optional_field(const std::map<std::string, std::string>& fields,
                                     const std::string& key) {
    auto it = fields.find(key);
    if (it == fields.end()) return std::nullopt;
    return std::stod(it->second);
}

class Orchestrator {
  public:
    explicit Orchestrator(const BenchOptions& options)
        : o_(options), veth_(options.veth ? std::make_unique<VethPair>() : nullptr) {}

    RunRecord run(const Measurement& m, Impl impl, int repeat) {
        RunRecord record;
        record.kind = m.kind;
        record.transport = m.transport;
        record.size = m.size;
        record.impl = impl;
        record.repeat = repeat;
        record.count = m.count;
        record.producer = m.producer;
        try {
            measure(m, impl, record);
            record.ok = record.error.empty();
        } catch (const std::exception& e) {
            record.error = e.what();
        }
        return record;
    }

  private:
    void measure(const Measurement& m, Impl impl, RunRecord& record) {
        const TransportRow& row = *find_transport(m.transport);
        const bool one_process =
            impl == Impl::courier ? row.courier == CourierMode::one_process : row.raw == "inproc";
        // Unique within the private registry, and short (see courier_peer.cpp).
        const std::string run_id = std::to_string(++runs_);

        std::unique_ptr<Wiring> wiring;
        if (impl == Impl::raw && !one_process)
            wiring = veth_ ? wire_tcp(VethPair::address(Side::b), veth_->netns(Side::b),
                                      veth_->netns(Side::a))
                           : raw_mechanism(row.raw).wire(m.kind == Kind::latency);
        Environment env;
        if (impl == Impl::courier && !one_process) {
            if (!registry_) registry_ = std::make_unique<PrivateRegistry>();
            env = {{"COURIER_RUNTIME_DIR", registry_->runtime_dir().string()},
                   {"COURIER_TRANSPORT", m.transport}};
        }
        // --scenario veth: each side in its namespace, its nodes listening on its address
        // (one registry serves both: its socket is a file, seen from every namespace).
        auto env_for = [&](Side side) {
            Environment with = env;
            if (veth_ && impl == Impl::courier)
                with.emplace_back("COURIER_CONFIG", veth_->config(side).string());
            return with;
        };
        auto netns_for = [&](Side side) { return veth_ ? veth_->netns(side) : -1; };

        auto args_for = [&](Side side) {
            std::vector<std::string> args{
                "--role",          to_string(impl),
                "--side",          side == Side::a ? "a" : side == Side::b ? "b" : "both",
                "--kind",          to_string(m.kind),
                "--transport",     m.transport,
                "--run-id",        run_id,
                "--payload-bytes", std::to_string(m.size),
                "--messages",      std::to_string(m.count),
                "--warmup-rounds", std::to_string(o_.warmup_or_default()),
                "--threads",       std::to_string(o_.threads)};
            if (auto cpus = cpus_of(o_, side); !cpus.empty())
                args.insert(args.end(), {"--cpus", cpus});
            if (wiring) args.insert(args.end(), {"--raw-spec", wiring->spec(side)});
            if (o_.count_allocs) args.push_back("--count-allocs");
            if (o_.inject_fault) args.push_back("--inject-fault");
            if (m.kind == Kind::slow_receiver)
                args.insert(args.end(), {"--pace-ns", std::to_string(o_.pace.count()), "--producer",
                                         to_string(m.producer)});
            return args;
        };
        auto fds_for = [&](Side side) { return wiring ? wiring->fds(side) : std::vector<int>{}; };

        // The receiver first, so it is there when the sender looks for it.
        std::vector<std::unique_ptr<PeerProcess>> owned;
        // A spawned row: side a starts side b itself, which reports through a's pipe.
        const bool spawned = impl == Impl::courier && row.courier == CourierMode::spawned;
        if (spawned) {
            std::string b_args;
            for (const auto& arg : args_for(Side::b))
                b_args += (b_args.empty() ? "" : "\x1f") + arg;
            auto a_args = args_for(Side::a);
            a_args.insert(a_args.end(), {"--spawn-peer", b_args});
            owned.push_back(std::make_unique<PeerProcess>(a_args, fds_for(Side::a), env));
        } else if (one_process) {
            owned.push_back(
                std::make_unique<PeerProcess>(args_for(Side::both), fds_for(Side::both), env));
        } else {
            owned.push_back(std::make_unique<PeerProcess>(args_for(Side::b), fds_for(Side::b),
                                                          env_for(Side::b), netns_for(Side::b)));
            owned.push_back(std::make_unique<PeerProcess>(args_for(Side::a), fds_for(Side::a),
                                                          env_for(Side::a), netns_for(Side::a)));
        }
        std::vector<PeerProcess*> peers;
        for (auto& p : owned) peers.push_back(p.get());
        PeerProcess& starter = *owned.back();  // side a, or the one process

        PeerReports reports;
        const auto timeout = Clock::now() + o_.timeout;
        // Waits give up at the timeout, or within 200 ms of an interrupt.
        auto deadline = [&] { return interrupted ? Clock::now() : timeout; };
        if (!collect_reports(peers, reports, deadline, [&](const PeerReports& r) {
                return r.ready == (spawned ? 2 : peers.size());
            }))
            throw std::runtime_error(interrupted ? "interrupted"
                                                 : "timed out waiting for the peers to be ready");
        check(reports, "while starting");
        if (wiring) wiring->opened();
        if (!starter.go()) throw std::runtime_error("the sending peer went away before the start");

        const bool throughput = m.kind == Kind::throughput;
        const bool slow = m.kind == Kind::slow_receiver;
        auto finished = [&](const PeerReports& r) {
            return r.results.contains("a") && (!(throughput || slow) || r.results.contains("b"));
        };
        if (!collect_reports(peers, reports, deadline, finished))
            throw std::runtime_error(interrupted
                                         ? std::string("interrupted")
                                         : "timed out after " + std::to_string(o_.timeout.count()) +
                                               " s (" + describe_progress(reports) + ")");
        check(reports, "during the run");
        if (slow) {
            // Each process reads its own peak while it is still there; a spawned side b
            // is asked by side a, and answers through the same pipe.
            for (auto* peer : peers)
                if (!peer->ask_memory())
                    throw std::runtime_error("a peer went away before reporting its memory");
            auto reported = [](const PeerReports& r) {
                return r.results.at("a").contains("peak_kib") &&
                       r.results.at("b").contains("peak_kib");
            };
            if (!collect_reports(peers, reports, deadline, reported))
                throw std::runtime_error("timed out waiting for the peers' memory");
            check(reports, "before reporting its memory");
        }
        for (auto* peer : peers) peer->finish();
        for (auto* peer : peers) {
            int status = peer->wait_exit(Clock::now() + std::chrono::seconds(10));
            if (status != 0 && record.error.empty())
                record.error = "a peer exited with status " + std::to_string(status);
        }

        const auto& a = reports.results.at("a");
        if (slow) {
            slow_receiver_figures(m, a, reports.results.at("b"), one_process, record);
        } else if (throughput) {
            const auto& b = reports.results.at("b");
            const auto sent = field(a, "sent"), received = field(b, "received");
            if (received != sent)
                record.error = "count mismatch: sent " + std::to_string(sent) + ", received " +
                               std::to_string(received);
            else if (field(a, "checksum") != field(b, "checksum"))
                record.error =
                    "checksum mismatch: the receiver's checksum of the payloads "
                    "differs from the sender's";
            const double seconds =
                static_cast<double>(field(b, "t_end") - field(a, "t_start")) / 1e9;
            record.seconds = seconds;
            if (seconds > 0) {
                record.msgs_per_s = static_cast<double>(m.count) / seconds;
                record.mb_per_s = static_cast<double>(m.count * m.size) / seconds / 1e6;
            }
            record.allocs_sender = optional_field(a, "allocs_per_msg");
            record.allocs_receiver = optional_field(b, "allocs_per_msg");
        } else {
            if (field(a, "checksum") != field(a, "echoed"))
                record.error = "checksum mismatch: the echoed payloads differ from those sent";
            record.p50_ns = real_field(a, "p50_ns");
            record.p99_ns = real_field(a, "p99_ns");
            record.p999_ns = real_field(a, "p999_ns");
            record.min_ns = real_field(a, "min_ns");
            record.max_ns = real_field(a, "max_ns");
            // The pinging process, per round trip: one send and one receive.
            record.allocs_sender = optional_field(a, "allocs_per_msg");
        }
    }

    void slow_receiver_figures(const Measurement& m, const std::map<std::string, std::string>& a,
                               const std::map<std::string, std::string>& b, bool one_process,
                               RunRecord& record) const {
        auto& s = record.slow;
        s.sent = field(a, "sent");
        s.received = field(b, "received");
        s.out_of_order = field(b, "out_of_order");
        s.one_process = one_process;
        s.pace_bound_s = static_cast<double>(m.count) * static_cast<double>(o_.pace.count()) / 1e9;
        s.sends_s = static_cast<double>(field(a, "t_sent") - field(a, "t_start")) / 1e9;
        s.peak_mib_producer = static_cast<double>(field(a, "peak_kib")) / 1024;
        s.peak_mib_consumer = static_cast<double>(field(b, "peak_kib")) / 1024;
        // The consumer's last message handled, or the producer's last send if the
        // consumer received nothing.
        record.seconds = static_cast<double>(std::max(field(b, "t_end"), field(a, "t_sent")) -
                                             field(a, "t_start")) /
                         1e9;
        if (s.received != s.sent)
            record.error = "lost " + std::to_string(s.lost()) + ": sent " + std::to_string(s.sent) +
                           ", received " + std::to_string(s.received);
        else if (s.out_of_order != 0)
            record.error = std::to_string(s.out_of_order) + " messages out of order";
        else if (field(a, "checksum") != field(b, "checksum"))
            record.error =
                "checksum mismatch: the consumer's checksum of the payloads differs from the "
                "producer's";
    }

    static void check(const PeerReports& reports, const char* when) {
        if (!reports.errors.empty()) throw std::runtime_error(reports.errors.front());
        if (reports.closed > 0)
            throw std::runtime_error(std::string("a peer exited ") + when + " without a result");
    }

    static std::string describe_progress(const PeerReports& r) {
        std::string out = "results from:";
        if (r.results.empty()) return "no results";
        for (const auto& [side, fields] : r.results) out += " " + side;
        return out;
    }

    const BenchOptions& o_;
    const std::unique_ptr<VethPair> veth_;  ///< --scenario veth's namespaces
    std::unique_ptr<PrivateRegistry> registry_;
    int runs_ = 0;
};

std::string progress_line(const RunRecord& r) {
    char buffer[256];
    const std::string head =
        r.transport + " " + size_label(r.size) + " " + to_string(r.kind) + " " + to_string(r.impl) +
        (r.kind == Kind::slow_receiver ? std::string(" ") + to_string(r.producer) + " producer"
                                       : std::string()) +
        " #" + std::to_string(r.repeat + 1) + ": ";
    if (!r.ok && r.slow.sent == 0) return head + "FAILED: " + r.error;
    if (r.kind == Kind::slow_receiver) {
        const auto& s = r.slow;
        std::snprintf(buffer, sizeof(buffer),
                      "%.2f s (consumer bound %.2f s), sends %.2f s, peak RSS producer %.0f MiB, "
                      "consumer %.0f MiB, lost %lld",
                      r.seconds, s.pace_bound_s, s.sends_s, s.peak_mib_producer,
                      s.peak_mib_consumer, static_cast<long long>(s.lost()));
        return head + buffer + (r.ok ? "" : "; FAILED: " + r.error);
    }
    if (r.kind == Kind::throughput)
        std::snprintf(buffer, sizeof(buffer), "%.0f msg/s, %.1f MB/s", r.msgs_per_s, r.mb_per_s);
    else
        std::snprintf(buffer, sizeof(buffer), "p50 %.2f us, p99 %.2f us, p99.9 %.2f us",
                      r.p50_ns / 1000, r.p99_ns / 1000, r.p999_ns / 1000);
    return head + buffer;
}

}  // namespace

int run_bench(const BenchOptions& o) {
    ::signal(SIGPIPE, SIG_IGN);  // a peer that died shows as a failed run, not our death
    catch_interrupts();
    Results results;
    results.machine = describe_machine();
    results.options = &o;
    if (o.scenario == Scenario::standard) {  // the slow receiver runs courier alone
        for (const auto& name : o.transports) {
            const auto& mechanism = raw_mechanism(find_transport(name)->raw);
            const auto writes = mechanism.name == "tcp-each" ? Writes::each : Writes::gathered;
            results.raw_settings.emplace_back(
                name,
                o.veth ? describe_tcp("between the namespaces", writes) : mechanism.describe());
        }
    }
    const auto plan = plan_measurements(o);
    Orchestrator orchestrator(o);
    for (int repeat = 0; repeat < o.repeat && !interrupted; ++repeat) {
        for (const auto& m : plan) {
            if (interrupted) break;
            std::vector<Impl> order;
            if (m.courier_unavailable.empty()) order.push_back(Impl::courier);
            // A slow receiver is courier's matter: a raw mechanism's kernel buffer is bounded.
            if (m.kind != Kind::slow_receiver && m.raw_unavailable.empty())
                order.push_back(Impl::raw);
            // Alternate which goes first, so slow drift in the machine hits both alike.
            if (repeat % 2 == 1) std::reverse(order.begin(), order.end());
            for (auto impl : order) {
                if (interrupted) break;
                results.records.push_back(orchestrator.run(m, impl, repeat));
                std::cerr << progress_line(results.records.back()) << std::endl;
            }
        }
    }
    if (interrupted) {
        std::cerr << "courier-bench: interrupted; nothing written\n";
        return 130;
    }
    results.summaries = summarize(plan, results.records);
    print_tables(results);

    int status = 0;
    for (const auto& r : results.records)
        if (!r.ok) status = 1;
    auto written = [&](const std::string& path, const std::string& error) {
        if (path.empty()) return;
        if (error.empty()) {
            std::cout << "wrote " << path << "\n";
        } else {
            std::cerr << "courier-bench: " << error << "\n";
            status = 1;
        }
    };
    if (!o.csv.empty()) written(o.csv, write_csv(results, o.csv));
    if (!o.json.empty()) written(o.json, write_json(results, o.json));
    if (!o.png.empty()) {
        auto error = write_chart(results, o.png);
        if (error.starts_with("gnuplot is not installed"))
            std::cerr << "courier-bench: " << error << "\n";  // said, and skipped
        else
            written(o.png, error);
    }
    return status;
}

}  // namespace courier::bench
