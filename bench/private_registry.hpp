#pragma once
/// @file
/// A courierd of the benchmark's own, in a private runtime directory, so the measured
/// nodes find each other without touching the user's registry, and nothing is left once
/// the benchmark ends (it is stopped with SIGTERM and the directory removed).

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace courier::bench {

class PrivateRegistry {
  public:
    /// Starts courierd (found beside courier-bench, else on PATH) and waits until it
    /// serves. Throws std::runtime_error.
    PrivateRegistry();
    ~PrivateRegistry();
    PrivateRegistry(const PrivateRegistry&) = delete;
    PrivateRegistry& operator=(const PrivateRegistry&) = delete;

    /// For COURIER_RUNTIME_DIR.
    const std::filesystem::path& runtime_dir() const noexcept { return dir_; }

  private:
    void stop() noexcept;
    std::filesystem::path dir_;
    pid_t pid_ = -1;
};

}  // namespace courier::bench
