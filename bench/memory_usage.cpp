#include "memory_usage.hpp"

#include <fstream>
#include <sstream>
#include <string>

namespace courier::bench {

std::optional<MemoryUsage> memory_of_this_process() {
    std::ifstream status("/proc/self/status");
    MemoryUsage usage;
    bool peak = false, now = false;
    for (std::string line; std::getline(status, line);) {
        // "VmHWM:\t  123456 kB"
        auto value_of = [&line](std::uint64_t& out) {
            std::istringstream(line.substr(line.find(':') + 1)) >> out;
        };
        if (line.starts_with("VmHWM:")) {
            value_of(usage.peak_kib);
            peak = true;
        } else if (line.starts_with("VmRSS:")) {
            value_of(usage.now_kib);
            now = true;
        }
    }
    if (!peak || !now) return std::nullopt;
    return usage;
}

}  // namespace courier::bench
