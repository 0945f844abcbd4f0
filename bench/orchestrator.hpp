#pragma once
/// @file
/// The benchmark itself: plans the measurements, runs each courier and raw run as
/// copies of this program, repeats them interleaved, and writes the outputs.

#include "options.hpp"

namespace courier::bench {

/// Runs everything `options` asks for. Returns 0 when every run passed its checks.
int run_bench(const BenchOptions& options);

}  // namespace courier::bench
