#pragma once
/// @file
/// The measured processes: what a copy of courier-bench started with `--role` does.

#include "options.hpp"

namespace courier::bench {

/// `--role raw`: one end of a raw mechanism (or both, on two threads). Returns the exit code.
int run_raw_peer(const RoleOptions& options);

/// `--role courier`: a node with the sending or the receiving actor (or both). Returns the
/// exit code.
int run_courier_peer(const RoleOptions& options);

}  // namespace courier::bench
