#include "slow_receiver_peer.hpp"

#include "memory_usage.hpp"
#include "messages.hpp"
#include "payload.hpp"

#include <exception>
#include <memory>

namespace courier::bench {

namespace {

/// Payloads an actor producer sends per turn: enough to amortize the turn, few enough
/// that the actor stays responsive.
constexpr std::uint64_t batch = 64;

/// What the producer reports: `t_sent` is when its last send returned, so
/// t_sent - t_start is the time its sends took (all of it before flow control exists).
Fields producer_fields(std::uint64_t count, std::uint64_t sum, std::uint64_t start) {
    return {{"sent", std::to_string(count)},
            {"checksum", std::to_string(sum)},
            {"t_start", std::to_string(start)},
            {"t_sent", std::to_string(now_ns())}};
}

/// The producer's side of one Payload: built, folded into the checksum, and corrupted
/// after that once per run if asked (--inject-fault).
Payload next_payload(const Pattern& pattern, std::uint64_t seq, std::uint64_t& sum,
                     const RoleOptions& o) {
    Payload payload = make_payload(pattern, seq);
    sum = fold(sum, seq, {payload.bytes.data(), payload.bytes.size()});
    if (o.inject_fault && seq == o.count / 2) payload.bytes.back() ^= 0x01;
    return payload;
}

}  // namespace

void spawn_paced_consumer(Node& node, const std::string& name, const RoleOptions& o,
                          const Reporter& report) {
    node.spawn(name, [&o, &report](Actor& self) {
        struct State {
            std::uint64_t received = 0, next_seq = 0, out_of_order = 0;
            std::uint64_t sum = checksum_seed, last = 0;
        };
        auto state = std::make_shared<State>();
        self.handle<Hello>([&self](Hello&) { self.reply(Ack{}); });
        self.handle<Payload>([state, pace = o.pace_ns](Payload& payload) {
            const auto begin = now_ns();
            if (payload.seq != state->next_seq) ++state->out_of_order;
            state->next_seq = payload.seq + 1;
            state->sum =
                fold(state->sum, payload.seq, {payload.bytes.data(), payload.bytes.size()});
            ++state->received;
            // Busy, not asleep: a sleep would take a scheduler tick or more, and the pace
            // would be the timer's, not the one asked for.
            auto now = now_ns();
            while (now - begin < pace) now = now_ns();
            state->last = now;
        });
        self.handle<Done>([state, &report](Done&) {
            report.result(Side::b, {{"received", std::to_string(state->received)},
                                    {"checksum", std::to_string(state->sum)},
                                    {"out_of_order", std::to_string(state->out_of_order)},
                                    {"t_end", std::to_string(state->last)}});
        });
    });
}

void spawn_batch_producer(Node& node, const std::string& name, const std::string& consumer,
                          const RoleOptions& o, const Reporter& report) {
    node.spawn(name, [&o, &report, consumer](Actor& self) {
        struct State {
            Pattern pattern;
            std::uint64_t seq = 0, sum = checksum_seed, start = 0;
        };
        auto state = std::make_shared<State>(State{Pattern(o.size)});
        auto send_batch = [&self, &o, &report, consumer, state] {
            try {
                const auto end = std::min(o.count, state->seq + batch);
                for (; state->seq < end; ++state->seq)
                    self.send(consumer, next_payload(state->pattern, state->seq, state->sum, o));
                if (state->seq < o.count) return self.send(self.name(), Continue{});
                self.send(consumer, Done{o.count});
                report.result(Side::a, producer_fields(o.count, state->sum, state->start));
            } catch (const std::exception& e) {
                report.error(std::string("sending: ") + e.what());
            }
        };
        self.handle<Start>([state, send_batch](Start&) {
            state->start = now_ns();
            send_batch();
        });
        self.handle<Continue>([send_batch](Continue&) { send_batch(); });
    });
}

void produce_from_thread(Node& node, const std::string& consumer, const RoleOptions& o,
                         const Reporter& report) {
    const Pattern pattern(o.size);
    std::uint64_t sum = checksum_seed;
    const auto start = now_ns();
    for (std::uint64_t seq = 0; seq < o.count; ++seq)
        node.send(consumer, next_payload(pattern, seq, sum, o));
    node.send(consumer, Done{o.count});
    report.result(Side::a, producer_fields(o.count, sum, start));
}

void report_memory(Side side, const Reporter& report) {
    const auto usage = memory_of_this_process();
    if (!usage) return report.error("cannot read VmHWM and VmRSS from /proc/self/status");
    const Fields fields{{"peak_kib", std::to_string(usage->peak_kib)},
                        {"rss_kib", std::to_string(usage->now_kib)}};
    if (side != Side::b) report.result(Side::a, fields);
    if (side != Side::a) report.result(Side::b, fields);
}

}  // namespace courier::bench
