#pragma once
/// @file
/// courierd's part in leaving nothing behind: when a node's connection closes, courierd is
/// the first to know the node died, so it removes what the dead leave (orphans.hpp) — the
/// System V queues of a link whose both ends were killed, a segment handed over to a peer
/// that died before it mapped it, a FIFO or socket file of a killed listener.

#include "reactor.hpp"

#include <courier/transports/orphans.hpp>

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace courier::registry {

class OrphanSweep {
  public:
    /// Timers run on `timers`; FIFOs of default endpoints live in `runtime_dir`.
    OrphanSweep(detail::Reactor& timers, std::filesystem::path runtime_dir)
        : timers_(timers), runtime_dir_(std::move(runtime_dir)) {}

    /// Node process `pid`, listening on `endpoints`, closed its connection: sweeps once it
    /// is gone. It may still be exiting (its descriptors close before it ends), so this
    /// looks again, more and more rarely, for up to `patience`; a process that lives on
    /// only closed its connection, and its objects are not orphans. Idle exit does not
    /// wait for this (finish() does the rest).
    void node_left(pid_t pid, const std::vector<std::string>& endpoints,
                   std::chrono::milliseconds patience = std::chrono::seconds(10));

    /// Sweeps now for every node whose process has not been seen gone yet: courierd is
    /// exiting. What a process still running holds is kept, as always.
    void finish();

  private:
    struct Pending;
    void sweep_when_gone(std::shared_ptr<Pending> pending);
    static void sweep(const OrphanSearch& search);

    detail::Reactor& timers_;
    std::filesystem::path runtime_dir_;
    std::vector<std::shared_ptr<Pending>> waiting_;
};

}  // namespace courier::registry
