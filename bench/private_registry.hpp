#pragma once
/// @file
/// A courierd of the benchmark's own, in a private runtime directory, so the measured
/// nodes find each other without touching the user's registry, and nothing is left once
/// the benchmark ends (it is stopped with SIGTERM and the directory removed). A courierd
/// that nodes started again after this one was killed is stopped too.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

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
    /// The courierd processes serving the directory now (whoever started them).
    std::vector<pid_t> serving() const;
    /// Stops every courierd of the directory, then removes it. Returns what was still in
    /// it once they had gone: what a node or courierd left behind.
    std::vector<std::string> shut_down() noexcept;

  private:
    /// Stops our courierd and any other serving the directory.
    void stop() noexcept;
    std::filesystem::path dir_;
    pid_t pid_ = -1;
};

}  // namespace courier::bench
