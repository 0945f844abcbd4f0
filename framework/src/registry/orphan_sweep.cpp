#include "registry/orphan_sweep.hpp"

#include <courier/log.hpp>
#include <courier/transports/endpoint.hpp>
#include <courier/transports/orphans.hpp>
#include <courier/transports/owner.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <utility>

namespace courier::registry {

/// One dead node's sweep, waiting for its process to be gone.
struct OrphanSweep::Pending {
    pid_t pid = 0;
    OrphanSearch search;
    std::chrono::steady_clock::time_point give_up;
    std::chrono::milliseconds next_look{1};
};

void OrphanSweep::node_left(pid_t pid, const std::vector<std::string>& endpoints,
                            std::chrono::milliseconds patience) {
    auto pending = std::make_shared<Pending>();
    pending->pid = pid;
    pending->give_up = std::chrono::steady_clock::now() + patience;
    pending->search.fifo_dirs.push_back(runtime_dir_);
    for (const auto& uri : endpoints) {
        try {
            const auto endpoint = Endpoint::parse(uri);
            const std::filesystem::path path(endpoint.address);
            if (endpoint.scheme == "fifo" && path.parent_path() != runtime_dir_)
                pending->search.fifo_dirs.push_back(path.parent_path());
            if (endpoint.scheme == "unix" && !endpoint.address.starts_with('@'))
                pending->search.socket_files.push_back(path);
        } catch (const std::exception&) {
            // Not an endpoint this courierd can read: nothing of it to look for.
        }
    }
    waiting_.push_back(pending);
    sweep_when_gone(std::move(pending));
}

void OrphanSweep::sweep_when_gone(std::shared_ptr<Pending> pending) {
    if (process_running(pending->pid)) {
        if (std::chrono::steady_clock::now() >= pending->give_up) {
            std::erase(waiting_, pending);  // it lives on: it only closed its connection
            return;
        }
        const auto wait = pending->next_look;
        pending->next_look = std::min(pending->next_look * 2, std::chrono::milliseconds(500));
        timers_.after(wait, [this, pending] { sweep_when_gone(pending); });
        return;
    }
    std::erase(waiting_, pending);
    sweep(pending->search);
}

void OrphanSweep::finish() {
    for (const auto& pending : std::exchange(waiting_, {})) sweep(pending->search);
}

void OrphanSweep::sweep(const OrphanSearch& search) {
    for (const auto& orphan : remove_orphans(search))
        log().info("removed {}, left by a dead node", orphan.describe());
}

}  // namespace courier::registry
