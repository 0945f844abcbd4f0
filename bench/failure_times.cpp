/// courier-failure-times: what every party sees when a process dies, an actor stops or
/// throws, or courierd dies, and how soon, measured per transport with real processes
/// (docs/failures.md, "Measured").

#include "failure_peer.hpp"
#include "failure_results.hpp"
#include "failure_scenarios.hpp"
#include "owned_objects.hpp"
#include "private_registry.hpp"

#include <courier/transports/transport.hpp>
#include <courier/version.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <fstream>
#include <iostream>
#include <thread>

namespace {

using namespace courier;
using namespace courier::failure_times;

const std::vector<std::string> default_transports{"unix", "tcp",     "fifo", "shm",
                                                  "sysv", "posixmq", "pipe"};

struct Options {
    RunOptions run;
    std::string csv;
    std::string command;
};

/// "2 CPUs, Linux 6.1.0-18-amd64 x86_64".
std::string machine() {
    utsname name{};
    ::uname(&name);
    return std::to_string(std::thread::hardware_concurrency()) + " CPUs, " + name.sysname + " " +
           name.release + " " + name.machine;
}

/// What the measurement's processes left, waited for a while: courierd sweeps what a
/// killed process left once it has seen it go.
std::vector<std::string> left_behind(const std::vector<pid_t>& pids) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        auto found = owned_objects(pids);
        if (found.empty() || std::chrono::steady_clock::now() >= deadline) return found;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

int measure(const Options& options) {
    bench::PrivateRegistry registry;
    RunOptions run = options.run;
    run.runtime_dir = registry.runtime_dir();
    Results results;
    std::vector<pid_t> pids{::getpid()};
    std::vector<std::string> errors;

    std::cerr << "courier-failure-times: an actor that throws, " << run.rounds << " rounds\n";
    measure_actor_throws(run, results);
    for (const auto& transport : run.transports) {
        std::cerr << "courier-failure-times: " << transport << ", " << run.rounds << " rounds\n";
        try {
            measure_peer_failures(transport, run, results, pids);
            measure_peer_hangs(transport, run, results, pids);
            measure_registry_death(transport, run, registry, results, pids);
        } catch (const std::exception& e) {
            errors.push_back(transport + ": " + e.what());
        }
    }
    const auto objects = left_behind(pids);
    const auto files = registry.shut_down();

    std::cout << "Command: `" << options.command << "`; " << machine() << ".\n"
              << "Median / max milliseconds from the failure to what each party saw, over "
              << run.rounds << " rounds.\n\n";
    results.markdown(std::cout, run.transports);
    std::cout << "\n";
    if (objects.empty() && files.empty()) {
        std::cout << "Left behind: nothing (in /dev/shm, /dev/mqueue and System V queues by the "
                  << pids.size() << " processes measured, nor in the registry's directory).\n";
    } else {
        std::cout << "Left behind:";
        for (const auto& object : objects) std::cout << " " << object;
        for (const auto& file : files) std::cout << " " << run.runtime_dir.string() << "/" << file;
        std::cout << "\n";
    }
    const auto surprises = results.surprises();
    for (const auto& surprise : surprises) std::cout << "Unexpected: " << surprise << "\n";
    for (const auto& error : errors) std::cout << "FAILED: " << error << "\n";
    // For a check that looks for leftovers of its own (tests/bench).
    std::cerr << "courier-failure-times: processes:";
    for (pid_t pid : pids) std::cerr << " " << pid;
    std::cerr << "\n";

    if (!options.csv.empty()) {
        std::ofstream csv(options.csv);
        results.csv(csv);
        if (!csv) errors.push_back("cannot write " + options.csv);
    }
    const bool lost_or_never =
        std::any_of(surprises.begin(), surprises.end(), [](const std::string& s) {
            return s.find("nothing within") != std::string::npos ||
                   s.find("were lost") != std::string::npos;
        });
    return errors.empty() && objects.empty() && files.empty() && !lost_or_never ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "courier-failure-times: what every party sees when a process is killed, an actor "
        "stops or throws, or courierd dies, and within what time, per transport"};
    app.set_version_flag("--version", COURIER_VERSION);
    Options options;
    bool quick = false;
    std::string role;
    PeerOptions peer;
    app.add_option("--transports", options.run.transports,
                   "transports to measure, comma-separated (default: unix,tcp,fifo,shm,sysv,"
                   "posixmq,pipe; pipe: the peer is the measuring node's child)")
        ->delimiter(',');
    app.add_option("--rounds", options.run.rounds, "rounds of each failure (default: 10)")
        ->check(CLI::PositiveNumber);
    app.add_flag("--quick", quick, "3 rounds");
    app.add_option("--csv", options.csv, "write the results as CSV to this file");
    app.add_option("--log-level", options.run.log_level,
                   "courier's log level in every process (default: off; the failures are "
                   "on purpose)")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    // Hidden: the peer processes are copies of this program.
    const char* hidden = "";
    app.add_option("--role", role)->group(hidden)->check(CLI::IsMember({"peer"}));
    app.add_option("--transport", peer.transport)->group(hidden);
    app.add_option("--node", peer.node)->group(hidden);
    app.add_option("--replier", peer.replier)->group(hidden);
    app.add_option("--stopper", peer.stopper)->group(hidden);
    app.add_option("--echo", peer.echo)->group(hidden);
    app.add_option("--report-fd", peer.report_fd)->group(hidden);
    app.add_option("--control-fd", peer.control_fd)->group(hidden);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    // Logs go to stderr: stdout is the table.
    spdlog::set_default_logger(spdlog::stderr_color_mt("courier-failure-times"));
    spdlog::set_level(spdlog::level::from_str(options.run.log_level));
    if (!role.empty()) return run_peer(peer);

    if (quick && app.count("--rounds") == 0) options.run.rounds = 3;
    if (options.run.transports.empty()) options.run.transports = default_transports;
    for (const auto& transport : options.run.transports) {
        if (TransportRegistry::builtin().find(transport) == nullptr) {
            std::cerr << "courier-failure-times: this build has no transport '" << transport
                      << "'\n";
            return 2;
        }
    }
    options.command = "courier-failure-times";
    for (int i = 1; i < argc; ++i) options.command += std::string(" ") + argv[i];
    try {
        return measure(options);
    } catch (const std::exception& e) {
        std::cerr << "courier-failure-times: " << e.what() << "\n";
        return 2;
    }
}
