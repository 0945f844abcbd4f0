/// `courier place HOST PROGRAM [ARGS...]` and `courier unplace HOST PID`: start a program
/// that another host's config offers there, and stop it, through that host's courierd
/// (docs/multihost.md, "Placement"), as Node::place and Node::stop_placed do.

#include "commands.hpp"
#include "node_session.hpp"
#include "placement_client.hpp"

#include <courier/framework/config.hpp>

#include <unistd.h>

#include <iostream>

namespace courier::cli {

namespace {

std::string asker() {
    return "courier-place-" + std::to_string(::getpid());
}

/// The config whose transport settings dial the other host (COURIER_CONFIG, as a node's).
std::optional<Config> config_or_say(const char* command) {
    try {
        return Config::from_environment();
    } catch (const std::exception& e) {
        std::cerr << "courier " << command << ": " << e.what() << "\n";
        return std::nullopt;
    }
}

/// The other host's (or the way's) refusal, as the command's exit status 1.
int refused(const char* command, const Error& error) {
    std::cerr << "courier " << command << ": " << to_string(error.code) << ": " << error.message
              << "\n";
    return 1;
}

}  // namespace

int place(const PlaceOptions& options) {
    const auto config = config_or_say("place");
    if (!config) return 2;
    Placement placement{options.host, options.program, options.args, options.timeout};
    auto placed = ask_registry(
        options.runtime_dir, "place",
        [&](RegistryClient& client) { return detail::place(client, *config, asker(), placement); },
        std::cerr);
    if (!placed) return 2;
    if (!*placed) return refused("place", placed->error());
    std::cout << "placed '" << options.program << "' on host '" << options.host << "': pid "
              << (*placed)->pid << "\n";
    return 0;
}

int unplace(const UnplaceOptions& options) {
    const auto config = config_or_say("unplace");
    if (!config) return 2;
    const PlacedProcess process{options.host, options.pid};
    const StopSignal how = options.kill ? StopSignal::kill : StopSignal::terminate;
    auto stopped = ask_registry(
        options.runtime_dir, "unplace",
        [&](RegistryClient& client) {
            return detail::stop_placed(client, *config, asker(), process, how, options.timeout);
        },
        std::cerr);
    if (!stopped) return 2;
    if (!*stopped) return refused("unplace", stopped->error());
    std::cout << (options.kill ? "killed" : "stopped") << " pid " << options.pid << " on host '"
              << options.host << "'\n";
    return 0;
}

}  // namespace courier::cli
