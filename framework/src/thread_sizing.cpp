#include "thread_sizing.hpp"

#include <courier/cpu_budget.hpp>

#include <algorithm>
#include <cmath>

namespace courier::detail {

ThreadSizing ThreadSizing::of(const NodeOptions& options) {
    ThreadSizing sizing;
    sizing.cpus = options.cpus > 0 ? options.cpus : cpu_budget().cpus();
    const bool spare_cpu = std::floor(sizing.cpus) >= 2;
    sizing.threads = options.threads != 0 ? options.threads : spare_cpu ? 2 : 1;
    sizing.spin = options.worker_spin;
    sizing.yielding = !spare_cpu;
    return sizing;
}

}  // namespace courier::detail
