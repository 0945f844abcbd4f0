#pragma once
/// @file
/// Percentiles of round-trip times and medians across repeated runs.

#include <cstdint>
#include <vector>

namespace courier::bench {

/// The `q`-th quantile (0..1) of `samples` by nearest rank; sorts them. 0 if empty.
double quantile(std::vector<double>& samples, double q);

/// The median; the mean of the middle two for an even count. 0 if empty.
double median(std::vector<double> values);

struct RoundTrips {
    double p50_ns = 0, p99_ns = 0, p999_ns = 0, min_ns = 0, max_ns = 0;
};
/// p50, p99, p99.9, min and max of the round-trip times (sorts them).
RoundTrips summarize(std::vector<double>& round_trip_ns);

}  // namespace courier::bench
