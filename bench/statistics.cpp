#include "statistics.hpp"

#include <algorithm>
#include <cmath>

namespace courier::bench {

double quantile(std::vector<double>& samples, double q) {
    if (samples.empty()) return 0;
    std::sort(samples.begin(), samples.end());
    // Nearest rank: the smallest sample with at least q of the samples at or below it.
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
    return samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1];
}

double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const std::size_t middle = values.size() / 2;
    return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

RoundTrips summarize(std::vector<double>& round_trip_ns) {
    RoundTrips out;
    if (round_trip_ns.empty()) return out;
    out.p50_ns = quantile(round_trip_ns, 0.50);
    out.p99_ns = quantile(round_trip_ns, 0.99);
    out.p999_ns = quantile(round_trip_ns, 0.999);
    out.min_ns = round_trip_ns.front();
    out.max_ns = round_trip_ns.back();
    return out;
}

}  // namespace courier::bench
