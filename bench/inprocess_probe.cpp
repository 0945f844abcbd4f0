// A quick probe of courier's in-process path (issue #4), kept small on purpose:
//  - throughput: one sender actor sends N 64-byte messages to one receiver actor; the
//    rate is N over the time from the first send to the last receipt;
//  - round trip: two actors bounce one 64-byte message; each round trip is timed on the
//    pinging actor with steady_clock, and p50/p99 are taken over all of them.
// Each measurement runs `runs` times, each in a fresh node (no registry, default 2
// workers), and the median of the runs is printed last. The receiver checks the order.
//
//   courier-inprocess-probe [runs=7] [messages=2000000] [round_trips=50000]
#include <courier/courier.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

namespace probe {
struct Payload {
    std::array<std::uint64_t, 8> words{};  // 64 bytes
    template <class Archive>
    void serialize(Archive& archive) {
        archive(words);
    }
};
struct Go {
    template <class Archive>
    void serialize(Archive&) {}
};
}  // namespace probe

COURIER_MESSAGE(probe::Payload, "probe.Payload");
COURIER_MESSAGE(probe::Go, "probe.Go");

namespace {

using Clock = std::chrono::steady_clock;

/// Lets main wait for the actors with a deadline.
struct Done {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    bool ok = true;
    void finish(bool success) {
        std::lock_guard lock(mutex);
        done = true;
        ok = success;
        cv.notify_all();
    }
    bool wait() {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, std::chrono::minutes(2), [&] { return done; }) && ok;
    }
};

courier::NodeOptions alone(const char* name) {
    courier::NodeOptions options;
    options.name = name;
    options.use_registry = false;
    return options;
}

/// CPU time in seconds of the process or the calling thread: on a shared machine the
/// wall-clock rate depends on what else runs, CPU time per message much less.
double cpu_seconds(clockid_t clock) {
    timespec t{};
    ::clock_gettime(clock, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct Cost {
    double process_ns = 0;  ///< CPU of every thread per message, spinning workers included
    double send_ns = 0;     ///< CPU of the sending actor's loop per message
    double receive_ns = 0;  ///< CPU of the receiving actor's thread, first to last receipt
};

/// Messages per second, or a negative number when the run failed.
double throughput_run(std::uint64_t count, Cost& cost) {
    Done done;
    Clock::time_point start, end;
    courier::Node node(alone("probe-throughput"));
    node.spawn("sink", [&](courier::Actor& self) {
        auto next = std::make_shared<std::uint64_t>(0);
        auto cpu = std::make_shared<double>(0);
        self.handle<probe::Payload>([&, next, cpu](probe::Payload& p) {
            if (p.words[0] != *next) done.finish(false);
            // One actor runs on one thread at a time, not always the same one: a run where
            // it moved shows a receive cost that makes no sense, and the median skips it.
            if (*next == 0) *cpu = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
            if (++*next == count) {
                end = Clock::now();
                cost.receive_ns = (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - *cpu) * 1e9 /
                                  static_cast<double>(count);
                done.finish(true);
            }
        });
    });
    node.spawn("source", [&](courier::Actor& self) {
        self.handle<probe::Go>([&](probe::Go&) {
            start = Clock::now();
            double cpu = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
            probe::Payload p;
            for (std::uint64_t i = 0; i < count; ++i) {
                p.words[0] = i;
                self.send("sink", p);
            }
            cost.send_ns =
                (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - cpu) * 1e9 / static_cast<double>(count);
        });
    });
    double cpu_before = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    node.send("source", probe::Go{});
    if (!done.wait()) return -1;
    cost.process_ns =
        (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_before) * 1e9 / static_cast<double>(count);
    return static_cast<double>(count) / std::chrono::duration<double>(end - start).count();
}

/// p50 and p99 of the round trips, in microseconds.
std::array<double, 2> round_trip_run(std::size_t trips) {
    Done done;
    std::vector<double> micros;
    micros.reserve(trips);
    courier::Node node(alone("probe-ping-pong"));
    node.spawn("pong", [](courier::Actor& self) {
        self.handle<probe::Payload>([&self](probe::Payload& p) { self.send("ping", p); });
    });
    node.spawn("ping", [&](courier::Actor& self) {
        auto sent = std::make_shared<Clock::time_point>();
        self.handle<probe::Go>([&self, sent](probe::Go&) {
            *sent = Clock::now();
            self.send("pong", probe::Payload{});
        });
        self.handle<probe::Payload>([&, sent](probe::Payload& p) {
            auto now = Clock::now();
            micros.push_back(std::chrono::duration<double, std::micro>(now - *sent).count());
            if (micros.size() == trips) {
                done.finish(true);
                return;
            }
            *sent = Clock::now();
            self.send("pong", p);
        });
    });
    node.send("ping", probe::Go{});
    if (!done.wait()) return {-1, -1};
    std::sort(micros.begin(), micros.end());
    return {micros[trips / 2], micros[trips * 99 / 100]};
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    int runs = argc > 1 ? std::atoi(argv[1]) : 7;
    std::uint64_t messages = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 2'000'000;
    std::size_t trips = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 50'000;
    if (runs < 1 || messages < 1 || trips < 1) {
        std::fprintf(stderr, "usage: %s [runs] [messages] [round_trips]\n", argv[0]);
        return 2;
    }

    std::vector<double> rates, process_ns, send_ns, receive_ns, p50s, p99s;
    for (int i = 0; i < runs; ++i) {
        Cost cost;
        double rate = throughput_run(messages, cost);
        if (rate < 0) {
            std::fprintf(stderr, "throughput run %d failed (order or deadline)\n", i);
            return 1;
        }
        rates.push_back(rate);
        process_ns.push_back(cost.process_ns);
        send_ns.push_back(cost.send_ns);
        receive_ns.push_back(cost.receive_ns);
        std::printf(
            "throughput run %d: %.2f M msg/s, CPU/msg %.0f ns (process), %.0f ns (send), %.0f ns "
            "(receive)\n",
            i, rate / 1e6, cost.process_ns, cost.send_ns, cost.receive_ns);
    }
    for (int i = 0; i < runs; ++i) {
        auto [p50, p99] = round_trip_run(trips);
        if (p50 < 0) {
            std::fprintf(stderr, "round-trip run %d failed (deadline)\n", i);
            return 1;
        }
        p50s.push_back(p50);
        p99s.push_back(p99);
        std::printf("round-trip run %d: p50 %.2f us, p99 %.2f us\n", i, p50, p99);
    }
    std::printf(
        "median of %d runs: throughput %.2f M msg/s (%llu x 64 B; CPU/msg %.0f ns process, "
        "%.0f ns send, %.0f ns receive), round trip p50 %.2f us p99 %.2f us (%zu trips)\n",
        runs, median(rates) / 1e6, static_cast<unsigned long long>(messages), median(process_ns),
        median(send_ns), median(receive_ns), median(p50s), median(p99s), trips);
}
