#pragma once
/// @file
/// The programs courierd started for other hosts (placement_protocol.hpp): only those its
/// config names (`[registry.placeable]`), at most max_running at once. Each is a node of
/// this host like any other: it runs until it exits or a StopPlaced ends it, and outlives
/// courierd as every node does (a courierd started after adopts its names). While
/// courierd runs, their exits reach the reactor through a pidfd and each is reaped (a
/// kernel without pidfd_open, before 5.3, would leave them unreaped until courierd exits).

#include "reactor.hpp"

#include "registry/placement_protocol.hpp"
#include "registry/registry_protocol.hpp"

#include <courier/framework/child_process.hpp>
#include <courier/framework/config.hpp>

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace courier::registry {

/// Runs on courierd's reactor thread, as the NameTable that hands it the requests.
class Placements {
  public:
    /// Placed programs running at once; past that a placement is refused.
    static constexpr std::size_t max_running = 256;

    struct Options {
        std::string host;  ///< this host's name, for answers and logs
        std::map<std::string, RegistrySettings::Placeable, std::less<>> programs;
        /// "NAME=value" for every program's environment: how it finds this courierd and
        /// its config.
        std::vector<std::string> environment;
    };
    Placements(detail::Reactor& reactor, Options options);
    /// Lets the programs still running run on (ChildProcess::release): courierd exits.
    ~Placements();
    Placements(const Placements&) = delete;
    Placements& operator=(const Placements&) = delete;

    Placed place(const PlaceProgram& request);
    Status stop(const StopPlaced& request);
    /// The name `name@host` went (`reason`): the programs bound to it get SIGKILL.
    void name_gone(const std::string& name, const std::string& reason);
    std::size_t running() const noexcept { return running_.size(); }

  private:
    struct Running {
        std::string program;
        std::string asker;
        std::string bound_to;  ///< PlaceProgram::bound_to
        ChildProcess process;
    };
    void ended(pid_t pid);
    std::string names() const;

    detail::Reactor& reactor_;
    Options options_;
    std::map<pid_t, Running> running_;
};

}  // namespace courier::registry
