/// `courier ping NAME`: round trips to an actor. Every actor answers a PingRequest in its
/// turn, so the time includes its mailbox: an actor that takes no letters answers none.

#include "commands.hpp"
#include "node_session.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <thread>

namespace courier::cli {

namespace {

std::string micros(std::chrono::nanoseconds time) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f µs", static_cast<double>(time.count()) / 1000.0);
    return text;
}

}  // namespace

int ping(const PingOptions& options) {
    auto where = ask_registry(
        options.runtime_dir, "ping",
        [&](RegistryClient& client) { return client.lookup(options.name); }, std::cerr);
    if (!where) return 2;
    if (!where->found) {
        std::cerr << "courier ping: no actor named '" << options.name << "' in "
                  << registry_dir(options.runtime_dir).string() << "\n";
        return 1;
    }
    if (where->endpoints.empty()) {
        std::cerr << "courier ping: '" << options.name << "' is on node '" << where->node
                  << "', which listens on no transport, so it cannot be reached\n";
        return 1;
    }
    auto session = NodeSession::open(where->endpoints);
    if (!session) {
        std::cerr << "courier ping: cannot reach node '" << where->node << "': " << session.error()
                  << "\n";
        return 1;
    }
    std::cout << "PING " << options.name << " on node '" << where->node << "' (pid " << where->pid
              << ") over " << session->endpoint() << "\n";
    std::vector<std::chrono::nanoseconds> times;
    for (int i = 0; i < options.count; ++i) {
        if (i != 0) std::this_thread::sleep_for(options.interval);
        const auto start = std::chrono::steady_clock::now();
        auto answer = session->ask<PingReply>(options.name, PingRequest{}, options.timeout);
        const auto time = std::chrono::steady_clock::now() - start;
        if (!answer) {
            std::cout << "no answer from " << options.name << ": " << answer.error() << "\n";
            continue;
        }
        times.push_back(time);
        std::cout << "answer from " << answer->actor << "@" << answer->node << " (pid "
                  << answer->pid << "): " << micros(time) << "\n";
    }
    std::cout << "--- " << options.name << ": " << options.count << " sent, " << times.size()
              << " answered";
    if (!times.empty()) {
        std::sort(times.begin(), times.end());
        std::cout << ", min " << micros(times.front()) << ", median "
                  << micros(times[times.size() / 2]) << ", max " << micros(times.back());
    }
    std::cout << "\n";
    return times.empty() ? 1 : 0;
}

}  // namespace courier::cli
