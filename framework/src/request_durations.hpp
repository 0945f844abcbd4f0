#pragma once
/// @file
/// How long this node's requests took from send to answer, as a histogram with fixed
/// buckets (the metric courier_request_duration_seconds: metrics_text.hpp). Recorded once
/// per answered request, on the thread that takes the answer, so it takes no lock: one
/// relaxed increment per bucket the duration falls in, the sum as whole nanoseconds.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace courier::detail {

class RequestDurations {
  public:
    /// Upper bounds of the buckets, in nanoseconds; +Inf is the count. From 10 µs (a
    /// round trip between actors of one process) to 1 s.
    static constexpr std::array<std::uint64_t, 13> bounds_ns{
        10'000,    25'000,    50'000,     100'000,    250'000,     500'000,      1'000'000,
        2'500'000, 5'000'000, 10'000'000, 25'000'000, 100'000'000, 1'000'000'000};

    /// What a scrape reads. Each field is read on its own, so a scrape during a burst may
    /// see a count a request or two apart from a bucket; each stays monotonic.
    struct Snapshot {
        std::array<std::uint64_t, bounds_ns.size()> buckets{};  ///< cumulative, as exposed
        std::uint64_t count = 0;
        std::uint64_t sum_ns = 0;
    };

    void record(std::chrono::steady_clock::duration took) noexcept {
        const auto ns = static_cast<std::uint64_t>(
            std::max<std::int64_t>(0, std::chrono::nanoseconds(took).count()));
        // Only the first bucket that holds it: cumulating at each record would cost an
        // increment per larger bucket; the scrape adds them up instead.
        std::size_t i = 0;
        while (i < bounds_ns.size() && ns > bounds_ns[i]) ++i;
        if (i < bounds_ns.size()) within_[i].fetch_add(1, std::memory_order_relaxed);
        sum_ns_.fetch_add(ns, std::memory_order_relaxed);
        count_.fetch_add(1, std::memory_order_relaxed);
    }

    Snapshot snapshot() const noexcept {
        Snapshot s;
        // Buckets read after the count may be ahead of it: the count is raised to their
        // total, so that +Inf is never below a bucket.
        s.count = count_.load(std::memory_order_relaxed);
        s.sum_ns = sum_ns_.load(std::memory_order_relaxed);
        std::uint64_t total = 0;
        for (std::size_t i = 0; i < bounds_ns.size(); ++i) {
            total += within_[i].load(std::memory_order_relaxed);
            s.buckets[i] = total;
        }
        if (s.count < total) s.count = total;
        return s;
    }

  private:
    std::array<std::atomic<std::uint64_t>, bounds_ns.size()> within_{};
    std::atomic<std::uint64_t> sum_ns_{0};
    std::atomic<std::uint64_t> count_{0};
};

}  // namespace courier::detail
