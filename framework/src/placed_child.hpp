#pragma once
/// @file
/// A Supervisor's child on another host (ChildSpec::host): placed through that host's
/// courierd (Node::place), known to be up when its names are up there (`name@host`),
/// watched through monitors of those names (its Down is its end: no pidfd reaches across
/// hosts), stopped through stop_placed, and bound to the supervisor, so that its host
/// kills it when the supervisor goes. Used on the supervisor's turns only.

#include <courier/framework/actor.hpp>
#include <courier/framework/placement.hpp>
#include <courier/framework/supervisor.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace courier {

class RegistryClient;

namespace detail {

class PlacedChild {
  public:
    /// Places `spec`'s program: argv[0] is a name of the host's [registry.placeable], the
    /// rest its extra arguments; bound to the actor `bound_to` of this host (the
    /// supervisor: Placement::bound_to). Waits up to the spec's start_timeout.
    static Expected<PlacedChild, Error> place(Node& node, const ChildSpec& spec,
                                              const std::string& bound_to);

    std::int64_t pid() const noexcept { return process_.pid; }
    const std::string& host() const noexcept { return process_.host; }
    /// `name` as the host holds it: `name@host`.
    std::string qualified(const std::string& name) const { return name + "@" + process_.host; }

    /// Its names are up: from now on a Down of any of them is its end.
    void watch(Actor& self, const std::vector<std::string>& names);
    /// The monitor `id` is one of this child's.
    bool watches(std::uint64_t id) const;

    /// Ends it: SIGTERM, then up to `grace` for its names to go (a clean stop unregisters
    /// them), then SIGKILL (grace 0: at once), and a moment for the host to tell of it.
    /// Blocks the supervisor's turn, as stopping a local child does.
    void terminate(Actor& self, RegistryClient* registry, const std::vector<std::string>& names,
                   std::chrono::milliseconds grace);

  private:
    explicit PlacedChild(PlacedProcess process) : process_(std::move(process)) {}
    /// Until none of `names` is held by this child's pid, or `within` passes; true if so.
    bool names_gone(RegistryClient* registry, const std::vector<std::string>& names,
                    std::chrono::milliseconds within) const;

    PlacedProcess process_;
    std::vector<Monitor> monitors_;
};

}  // namespace detail
}  // namespace courier
