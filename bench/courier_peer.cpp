// The courier runs: actors on nodes, sending the typed Payload by name. Two processes
// (a node each, over the transport COURIER_TRANSPORT names) or one node with both actors.
// The slow-receiver scenario's actors are in slow_receiver_peer.cpp.
#include "alloc_counter.hpp"
#include "messages.hpp"
#include "payload.hpp"
#include "peer_process.hpp"
#include "peer_protocol.hpp"
#include "peers.hpp"
#include "slow_receiver_peer.hpp"
#include "statistics.hpp"

#include <courier/courier.hpp>
#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>

namespace courier::bench {

namespace {

using namespace std::chrono_literals;

/// Payloads of `size` bytes a sending actor sends per turn: about 64 KiB of them, so a
/// stream link's batches fill (1,024 of 64 B); few enough that a receiver that falls
/// behind parks the sender at its mailbox limit (10,000 letters) before its mailbox holds
/// much memory, and that one worker running both actors of a node (taking 64 letters a
/// turn) keeps up with large ones.
std::uint64_t source_batch(std::size_t size) {
    return std::clamp<std::uint64_t>((std::size_t{64} << 10) / std::max<std::size_t>(size, 1), 1,
                                     1024);
}

/// Allocations per message between two marks in the steady part of a run (the first and
/// last tenth left out).
class AllocWindow {
  public:
    explicit AllocWindow(std::uint64_t count) : begin_(count / 10), end_(count - count / 10) {}
    void at(std::uint64_t index) noexcept {
        if (index == begin_) {
            first_ = alloc_counter::total();
            alloc_counter::trace(true);
        }
        if (index == end_) {
            last_ = alloc_counter::total();
            alloc_counter::trace(false);
        }
    }
    Fields fields(bool counting) const {
        if (!counting || end_ <= begin_) return {};
        const double per_message =
            static_cast<double>(last_ - first_) / static_cast<double>(end_ - begin_);
        return {{"allocs_per_msg", std::to_string(per_message)}};
    }

  private:
    std::uint64_t begin_, end_, first_ = 0, last_ = 0;
};

Fields joined(Fields a, const Fields& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

/// Sends `count` Payloads to the sink when Start comes, then Done.
void spawn_source(Node& node, const std::string& name, const std::string& sink,
                  const RoleOptions& o, const Reporter& report) {
    node.spawn(name, [&o, &report, sink](Actor& self) {
        struct State {
            Pattern pattern;
            AllocWindow allocs;
            std::uint64_t seq = 0, sum = checksum_seed, start = 0;
        };
        auto state = std::make_shared<State>(State{Pattern(o.size), AllocWindow(o.count)});
        // A turn sends a batch and asks for the next: how the framework asks a busy
        // sender to send (docs/flow_control.md), so a receiver that falls behind parks it.
        auto send_batch = [&self, &o, &report, sink, state] {
            try {
                const auto end = std::min(o.count, state->seq + source_batch(o.size));
                for (; state->seq < end; ++state->seq) {
                    state->allocs.at(state->seq);
                    Payload payload = make_payload(state->pattern, state->seq);
                    state->sum = fold(state->sum, state->seq, payload.bytes);
                    if (o.inject_fault && state->seq == o.count / 2) payload.bytes.back() ^= 0x01;
                    self.send(sink, std::move(payload));
                }
                if (state->seq < o.count) return self.send(self.name(), Continue{});
                self.send(sink, Done{o.count});
                report.result(Side::a, joined({{"sent", std::to_string(o.count)},
                                               {"checksum", std::to_string(state->sum)},
                                               {"t_start", std::to_string(state->start)}},
                                              state->allocs.fields(o.count_allocs)));
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

/// Checks every Payload into a checksum; reports on Done.
void spawn_sink(Node& node, const std::string& name, const RoleOptions& o, const Reporter& report) {
    node.spawn(name, [&o, &report](Actor& self) {
        struct State {
            std::uint64_t received = 0, sum = checksum_seed, last = 0;
            AllocWindow allocs;
        };
        auto state = std::make_shared<State>(State{0, checksum_seed, 0, AllocWindow(o.count)});
        self.handle<Hello>([&self](Hello&) { self.reply(Ack{}); });
        self.handle<Payload>([state](Payload& payload) {
            state->allocs.at(state->received);
            state->sum = fold(state->sum, payload.seq, payload.bytes);
            ++state->received;
            state->last = now_ns();
        });
        self.handle<Done>([state, &o, &report](Done&) {
            report.result(Side::b, joined({{"received", std::to_string(state->received)},
                                           {"checksum", std::to_string(state->sum)},
                                           {"t_end", std::to_string(state->last)}},
                                          state->allocs.fields(o.count_allocs)));
        });
    });
}

/// Sends one Payload at a time to the echo and times each round trip.
void spawn_pinger(Node& node, const std::string& name, const std::string& echo,
                  const RoleOptions& o, const Reporter& report) {
    node.spawn(name, [&o, &report, echo](Actor& self) {
        struct State {
            Pattern pattern;
            std::uint64_t seq = 0, sent = checksum_seed, echoed = checksum_seed, start = 0;
            std::vector<double> round_trips;
            AllocWindow allocs;  ///< over the measured round trips
        };
        auto state = std::make_shared<State>(
            State{Pattern(o.size), 0, checksum_seed, checksum_seed, 0, {}, AllocWindow(o.count)});
        state->round_trips.reserve(o.count);
        auto send_next = [&self, &o, echo, state] {
            Payload payload = make_payload(state->pattern, state->seq);
            state->sent = fold(state->sent, state->seq, payload.bytes);
            if (o.inject_fault && state->seq == o.warmup + o.count / 2)
                payload.bytes.back() ^= 0x01;
            state->start = now_ns();
            self.send(echo, std::move(payload));
        };
        self.handle<Start>([send_next](Start&) { send_next(); });
        self.handle<Payload>([&o, &report, state, send_next](Payload& payload) {
            const auto end = now_ns();
            state->echoed = fold(state->echoed, payload.seq, payload.bytes);
            if (state->seq >= o.warmup) {
                state->round_trips.push_back(static_cast<double>(end - state->start));
                state->allocs.at(state->seq - o.warmup);
            }
            if (++state->seq < o.warmup + o.count) return send_next();
            const auto stats = summarize(state->round_trips);
            report.result(Side::a, joined({{"rounds", std::to_string(o.count)},
                                           {"checksum", std::to_string(state->sent)},
                                           {"echoed", std::to_string(state->echoed)},
                                           {"p50_ns", std::to_string(stats.p50_ns)},
                                           {"p99_ns", std::to_string(stats.p99_ns)},
                                           {"p999_ns", std::to_string(stats.p999_ns)},
                                           {"min_ns", std::to_string(stats.min_ns)},
                                           {"max_ns", std::to_string(stats.max_ns)}},
                                          state->allocs.fields(o.count_allocs)));
        });
    });
}

/// Answers every Payload with itself.
void spawn_echo(Node& node, const std::string& name) {
    node.spawn(name, [](Actor& self) {
        self.handle<Hello>([&self](Hello&) { self.reply(Ack{}); });
        self.handle<Payload>([&self](Payload& payload) { self.reply(std::move(payload)); });
    });
}

}  // namespace

int run_courier_peer(const RoleOptions& o) {
    const Reporter report(o.report_fd);
    const Control control(o.control_fd);
    try {
        if (o.count_allocs) alloc_counter::enable();
        pin_to(o.cpus);  // before the node starts its threads, which inherit it
        const bool slow = o.kind == Kind::slow_receiver;
        const std::string a_name = (slow                         ? "producer-"
                                    : o.kind == Kind::throughput ? "source-"
                                                                 : "ping-") +
                                   o.run_id;
        const std::string b_name = (slow                         ? "consumer-"
                                    : o.kind == Kind::throughput ? "sink-"
                                                                 : "echo-") +
                                   o.run_id;
        const bool from_thread = slow && o.producer == Producer::thread;

        NodeOptions options;
        options.name = std::string("bench-") +
                       (o.side == Side::a   ? "a-"
                        : o.side == Side::b ? "b-"
                                            : "ab-") +
                       o.run_id;
        options.threads = o.threads;
        options.use_registry = o.side != Side::both;
        Node node(options);

        if (o.side != Side::a) {
            if (slow)
                spawn_paced_consumer(node, b_name, o, report);
            else if (o.kind == Kind::throughput)
                spawn_sink(node, b_name, o, report);
            else
                spawn_echo(node, b_name);
        }
        if (o.side != Side::b && !from_thread) {
            if (slow)
                spawn_batch_producer(node, a_name, b_name, o, report);
            else if (o.kind == Kind::throughput)
                spawn_source(node, a_name, b_name, o, report);
            else
                spawn_pinger(node, a_name, b_name, o, report);
        }
        // A spawned row: side b is our child, linked as the config chooses (pipe:). It
        // reports through our report pipe; the end of its control pipe ends it.
        ChildProcess peer_b;
        Fd peer_b_control;
        if (!o.spawn_peer.empty()) {
            int ends[2];
            COURIER_SYSCALL(::pipe2, ends, O_CLOEXEC).value_or_throw("a pipe for side b");
            const Fd control_read(ends[0]);
            peer_b_control = Fd(ends[1]);
            ProcessOptions spawn;
            spawn.argv = {self_executable()};
            spawn.argv.insert(spawn.argv.end(), o.spawn_peer.begin(), o.spawn_peer.end());
            spawn.argv.insert(spawn.argv.end(), {"--report-fd", "3", "--control-fd", "4"});
            spawn.inherit = {o.report_fd, control_read.get()};
            spawn.node = "bench-b-" + o.run_id;
            peer_b = node.spawn_process(spawn);
        }
        if (o.side == Side::a) {
            // Find the peer and open the link before the clock starts.
            if (!node.wait_for(b_name, 20s))
                throw std::runtime_error("no actor '" + b_name + "' appeared within 20 s");
            auto answer = node.request<Ack>(b_name, Hello{}, 20s);
            if (!answer) throw std::runtime_error("opening the link: " + answer.error().message);
        }
        report.ready();
        if (o.side != Side::b) {
            if (!control.wait_go())
                throw std::runtime_error("the orchestrator went away before the start");
            if (from_thread)
                produce_from_thread(node, b_name, o, report);
            else
                node.send(a_name, Start{});
        }
        // Until the end, answer memory requests (slow-receiver runs make them).
        while (control.wait_memory_request()) {
            report_memory(o.side, report);
            const char ask = 'm';  // side b answers through our report pipe
            if (peer_b) (void)COURIER_SYSCALL(::write, peer_b_control.get(), &ask, std::size_t{1});
        }
        if (peer_b) {
            peer_b_control.reset();
            if (const auto status = peer_b.wait(); status.code != 0 || status.signal != 0)
                throw std::runtime_error("side b " + status.describe());
        }
        return 0;
    } catch (const std::exception& e) {
        report.error(e.what());
        return 1;
    }
}

}  // namespace courier::bench
