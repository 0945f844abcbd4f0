#include "registry/placements.hpp"

#include "registry/refusals.hpp"

#include <courier/framework/error.hpp>
#include <courier/log.hpp>

#include <spdlog/spdlog.h>

#include <signal.h>

#include <exception>
#include <utility>

namespace courier::registry {

namespace {
Placed refused(std::string why) {
    return Placed{false, static_cast<std::uint8_t>(ErrorCode::refused), std::move(why), 0};
}
}  // namespace

Placements::Placements(detail::Reactor& reactor, Options options)
    : reactor_(reactor), options_(std::move(options)) {}

Placements::~Placements() {
    for (auto& [pid, running] : running_) running.process.release();
}

std::string Placements::names() const {
    std::string list;
    for (const auto& [name, program] : options_.programs) list += (list.empty() ? "" : ", ") + name;
    return list;
}

Placed Placements::place(const PlaceProgram& request) {
    const std::string& host = options_.host;
    auto found = options_.programs.find(request.program);
    if (found == options_.programs.end()) {
        // The asker is told; a line each would let one write the log without bound.
        log().debug("refused to place '{}' for {}: no such program in [registry.placeable]",
                    request.program, request.asker);
        if (options_.programs.empty())
            return refused("host '" + host + "' places no programs (its config has no " +
                           "[registry.placeable])");
        return refused("host '" + host + "' places no program '" + request.program +
                       "' (it places: " + names() + ")");
    }
    const auto& program = found->second;
    if (!request.args.empty() && !program.extra_args)
        return refused("host '" + host + "' starts '" + request.program +
                       "' with its own arguments only (its config does not set extra_args)");
    if (running_.size() >= max_running)
        return refused("host '" + host + "' runs " + std::to_string(running_.size()) +
                       " placed programs already, the most it runs");
    ProcessOptions process;
    process.argv = program.argv;
    process.argv.insert(process.argv.end(), request.args.begin(), request.args.end());
    process.environment = options_.environment;
    ChildProcess child;
    try {
        child = ChildProcess::start(process);
    } catch (const std::exception& e) {
        log().warn("cannot place '{}' for {}: {}", request.program, request.asker, e.what());
        return Placed{false, static_cast<std::uint8_t>(ErrorCode::os_error),
                      "host '" + host + "' cannot start '" + request.program + "' (" +
                          program.argv.front() + "): " + e.what(),
                      0};
    }
    const pid_t pid = child.pid();
    if (const int exits = child.exit_descriptor(); exits >= 0)
        reactor_.add(exits, [this, pid] { ended(pid); });
    log().info("placed '{}' for {}: pid {}", request.program, request.asker, pid);
    running_.emplace(pid,
                     Running{request.program, request.asker, request.bound_to, std::move(child)});
    return Placed{true, 0, {}, pid};
}

Status Placements::stop(const StopPlaced& request) {
    auto it = running_.find(static_cast<pid_t>(request.pid));
    if (it == running_.end())
        return refuse("process " + std::to_string(request.pid) + " is no program host '" +
                      options_.host + "' placed, or it has ended");
    log().info("{} placed '{}' (pid {}) for {}", request.kill ? "killing" : "stopping",
               it->second.program, request.pid, request.asker);
    it->second.process.signal(request.kill ? SIGKILL : SIGTERM);
    return {};
}

void Placements::name_gone(const std::string& name, const std::string& reason) {
    for (auto& [pid, running] : running_) {
        if (running.bound_to != name) continue;
        log().info("killing placed '{}' (pid {}): '{}', which it is bound to, went ({})",
                   running.program, pid, name, reason);
        running.process.signal(SIGKILL);  // reaped when its pidfd says it ended
    }
}

void Placements::ended(pid_t pid) {
    auto it = running_.find(pid);
    if (it == running_.end()) return;
    reactor_.remove(it->second.process.exit_descriptor());
    const ExitStatus status = it->second.process.wait();  // it exited: no wait
    log().info("placed '{}' (pid {}, for {}) ended: {}", it->second.program, pid, it->second.asker,
               status.describe());
    running_.erase(it);
}

}  // namespace courier::registry
