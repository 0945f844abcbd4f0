/// courier-bench: courier's throughput and round-trip latency between two processes, and
/// between two actors of one process, beside the raw kernel mechanism under each
/// transport. docs/performance.md explains the method and the figures.

#include "options.hpp"
#include "orchestrator.hpp"
#include "peers.hpp"

#include <exception>
#include <iostream>

int main(int argc, char** argv) {
    using namespace courier::bench;
    auto parsed = parse_options(argc, argv);
    if (!parsed.options) return parsed.exit_code;
    const Options& options = *parsed.options;
    if (options.role) {
        return options.role->role == "courier" ? run_courier_peer(*options.role)
                                               : run_raw_peer(*options.role);
    }
    try {
        return run_bench(options.bench);
    } catch (const std::exception& e) {
        std::cerr << "courier-bench: " << e.what() << "\n";
        return 2;
    }
}
