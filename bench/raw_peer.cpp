// The raw runs: the same loops as the courier actors, over a Channel.
#include "payload.hpp"
#include "peer_protocol.hpp"
#include "peers.hpp"
#include "raw_mechanism.hpp"
#include "statistics.hpp"
#include "transports.hpp"

#include <cstdlib>
#include <exception>
#include <thread>

namespace courier::bench {

namespace {

Fields send_all(Channel& channel, const RoleOptions& o) {
    const Pattern pattern(o.size);
    std::vector<std::uint8_t> message(o.size);
    std::uint64_t sum = checksum_seed;
    const auto start = now_ns();
    for (std::uint64_t seq = 0; seq < o.count; ++seq) {
        pattern.fill(message, seq);
        sum = fold(sum, seq, message);
        if (o.inject_fault && seq == o.count / 2) message.back() ^= 0x01;
        channel.send(message);
    }
    channel.flush();
    return {{"sent", std::to_string(o.count)},
            {"checksum", std::to_string(sum)},
            {"t_start", std::to_string(start)}};
}

Fields receive_all(Channel& channel, const RoleOptions& o) {
    std::vector<std::uint8_t> message(o.size);
    std::uint64_t sum = checksum_seed;
    for (std::uint64_t seq = 0; seq < o.count; ++seq) {
        channel.receive(message);
        sum = fold(sum, seq, message);
    }
    const auto end = now_ns();
    return {{"received", std::to_string(o.count)},
            {"checksum", std::to_string(sum)},
            {"t_end", std::to_string(end)}};
}

Fields ping(Channel& channel, const RoleOptions& o) {
    const Pattern pattern(o.size);
    std::vector<std::uint8_t> message(o.size), back(o.size);
    std::vector<double> round_trips;
    round_trips.reserve(o.count);
    std::uint64_t sent = checksum_seed, echoed = checksum_seed;
    for (std::uint64_t seq = 0; seq < o.warmup + o.count; ++seq) {
        pattern.fill(message, seq);
        sent = fold(sent, seq, message);
        if (o.inject_fault && seq == o.warmup + o.count / 2) message.back() ^= 0x01;
        const auto start = now_ns();
        channel.send(message);
        channel.flush();
        channel.receive(back);
        const auto end = now_ns();
        echoed = fold(echoed, seq, back);
        if (seq >= o.warmup) round_trips.push_back(static_cast<double>(end - start));
    }
    const auto stats = summarize(round_trips);
    return {{"rounds", std::to_string(o.count)},      {"checksum", std::to_string(sent)},
            {"echoed", std::to_string(echoed)},       {"p50_ns", std::to_string(stats.p50_ns)},
            {"p99_ns", std::to_string(stats.p99_ns)}, {"p999_ns", std::to_string(stats.p999_ns)},
            {"min_ns", std::to_string(stats.min_ns)}, {"max_ns", std::to_string(stats.max_ns)}};
}

void echo(Channel& channel, const RoleOptions& o) {
    std::vector<std::uint8_t> message(o.size);
    for (std::uint64_t seq = 0; seq < o.warmup + o.count; ++seq) {
        channel.receive(message);
        channel.send(message);
        channel.flush();
    }
}

/// Side a: the sender or the pinger. Starts on 'g'.
void run_a(Channel& channel, const RoleOptions& o, const Reporter& report, const Control& control) {
    if (!control.wait_go()) throw std::runtime_error("the orchestrator went away before the start");
    report.result(Side::a, o.kind == Kind::throughput ? send_all(channel, o) : ping(channel, o));
}

/// Side b: the receiver or the echo.
void run_b(Channel& channel, const RoleOptions& o, const Reporter& report) {
    if (o.kind == Kind::throughput)
        report.result(Side::b, receive_all(channel, o));
    else
        echo(channel, o);
}

/// The in-process row: both sides on two threads, each pinned to its CPU.
void run_threads(const RoleOptions& o, const Reporter& report, const Control& control) {
    auto [a, b] = thread_channels(o.kind == Kind::latency);
    std::exception_ptr failure;
    std::thread receiver([&, channel = b.get()] {
        try {
            if (o.cpus.size() == 2) pin_to({o.cpus[1]});
            run_b(*channel, o, report);
        } catch (...) {
            failure = std::current_exception();
        }
    });
    try {
        if (o.cpus.size() == 2) pin_to({o.cpus[0]});
        report.ready();
        run_a(*a, o, report, control);
    } catch (const std::exception& e) {
        // The receiver may wait forever for what will not come, on rings this frame
        // owns: report and leave at once.
        report.error(e.what());
        std::_Exit(1);
    }
    receiver.join();
    if (failure) std::rethrow_exception(failure);
}

}  // namespace

int run_raw_peer(const RoleOptions& o) {
    const Reporter report(o.report_fd);
    const Control control(o.control_fd);
    try {
        // The channel lives until the orchestrator ends the run: a library that sends from
        // its own thread (ZeroMQ) may still hold messages when the last send returns.
        std::unique_ptr<Channel> channel;
        if (o.side == Side::both) {
            run_threads(o, report, control);
        } else {
            pin_to(o.cpus);
            channel = raw_mechanism(find_transport(o.transport)->raw).open(o.side, o.raw_spec);
            report.ready();
            if (o.side == Side::a)
                run_a(*channel, o, report, control);
            else
                run_b(*channel, o, report);
        }
        control.wait_end();
        return 0;
    } catch (const std::exception& e) {
        report.error(e.what());
        return 1;
    }
}

}  // namespace courier::bench
