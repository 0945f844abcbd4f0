#include "stage.hpp"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <utility>

#include <unistd.h>

namespace pipeline {

using namespace std::chrono_literals;

std::string node_of(std::string_view program, pid_t pid) {
    return std::filesystem::path(program).filename().string() + "-" + std::to_string(pid);
}

std::string actor_of(pid_t pid) {
    return "pipeline." + std::to_string(pid);
}

courier::Config stage_config(const std::string& config_file) {
    courier::Config config = courier::Config::from_environment(config_file);
    // Last, so that any rule of the user's that matches comes first.
    config.rules.push_back(courier::LinkRule{"pipeline-*", "pipeline-*", "pipe"});
    return config;
}

Downstream start_downstream(courier::Node& node, std::vector<std::string> argv,
                            std::string_view fallback) {
    if (argv.empty())
        argv.push_back(
            (std::filesystem::read_symlink("/proc/self/exe").parent_path() / fallback).string());
    courier::ProcessOptions process;
    process.argv = std::move(argv);
    process.parent_death_signal = SIGTERM;  // a stage whose parent died stops cleanly
    Downstream next;
    next.process = node.spawn_process(process);
    next.node = node_of(process.argv.front(), next.process.pid());
    next.actor = actor_of(next.process.pid());
    for (int tries = 0; tries < 100; ++tries) {
        if (node.wait_for(next.actor, 100ms)) return next;
        if (auto status = next.process.wait_for(0ms))
            throw std::runtime_error("the next stage, " + process.argv.front() + ", " +
                                     status->describe());
    }
    throw std::runtime_error("the next stage, " + process.argv.front() +
                             ", did not register its actor within 10 s");
}

std::string describe(const courier::LinkInfo& link) {
    return link.transport + " (" + link.reason + ")";
}

double peak_memory_mib() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "VmHWM:") {
            double kib = 0;
            status >> kib;
            return kib / 1024;
        }
        status.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return 0;
}

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

courier::NodeOptions stage_options(std::string_view program, const std::string& config_file) {
    courier::NodeOptions options;
    options.name = node_of(program, ::getpid());
    options.threads = 1;
    options.config = stage_config(config_file);
    return options;
}

}  // namespace pipeline
