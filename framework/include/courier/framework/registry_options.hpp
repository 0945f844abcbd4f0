#pragma once
/// @file
/// How a node reaches the per-host registry `courierd` (NodeOptions::registry).

#include <chrono>
#include <filesystem>

namespace courier {

struct RegistryOptions {
    std::filesystem::path runtime_dir;  ///< empty: default_runtime_dir()
    bool autostart = true;              ///< start courierd when none answers
    /// The courierd to start: empty means $COURIER_COURIERD, then `courierd` next to
    /// this executable, next to an installed shared libcourier_framework (its bindir), in
    /// the bindir courier was configured to install to, then on PATH. From CMake:
    /// `$<TARGET_FILE:courier::courierd>`.
    std::filesystem::path courierd;
    /// How long a started courierd stays up with no node connected; negative: its default.
    std::chrono::milliseconds idle_exit{-1};
    std::chrono::milliseconds timeout{5000};  ///< per call, and for starting courierd
};

}  // namespace courier
