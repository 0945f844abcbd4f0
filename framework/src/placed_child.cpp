#include "placed_child.hpp"

#include "registry/registry_client.hpp"
#include "registry/registry_error.hpp"

#include <courier/framework/node.hpp>

#include <algorithm>
#include <thread>

namespace courier::detail {

Expected<PlacedChild, Error> PlacedChild::place(Node& node, const ChildSpec& spec,
                                                const std::string& bound_to) {
    Placement placement;
    placement.host = spec.host;
    placement.program = spec.process.argv.front();
    placement.args.assign(spec.process.argv.begin() + 1, spec.process.argv.end());
    placement.timeout = spec.start_timeout;
    placement.bound_to = bound_to;  // it dies with the supervisor, as a local child does
    auto placed = node.place(placement);
    if (!placed) return Unexpected{std::move(placed.error())};
    return PlacedChild(std::move(*placed));
}

void PlacedChild::watch(Actor& self, const std::vector<std::string>& names) {
    for (const auto& name : names) monitors_.push_back(self.monitor(qualified(name)));
}

bool PlacedChild::watches(std::uint64_t id) const {
    return std::ranges::any_of(monitors_, [id](const Monitor& m) { return m.id == id; });
}

bool PlacedChild::names_gone(RegistryClient* registry, const std::vector<std::string>& names,
                             std::chrono::milliseconds within) const {
    if (registry == nullptr || names.empty()) return false;
    const auto deadline = std::chrono::steady_clock::now() + within;
    for (;;) {
        bool gone = true;
        try {
            for (const auto& name : names) {
                const auto where = registry->lookup(qualified(name));
                gone = gone && !(where.found && where.pid == process_.pid);
            }
        } catch (const RegistryError&) {
            gone = false;
        }
        if (gone) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void PlacedChild::terminate(Actor& self, RegistryClient* registry,
                            const std::vector<std::string>& names,
                            std::chrono::milliseconds grace) {
    for (const auto& monitor : monitors_) self.demonitor(monitor);
    monitors_.clear();
    Node& node = self.node();
    if (grace.count() > 0 && node.stop_placed(process_, StopSignal::terminate) &&
        names_gone(registry, names, grace))
        return;
    // Not gone in time, or not asked to wait: its host ends it for sure.
    if (node.stop_placed(process_, StopSignal::kill))
        (void)names_gone(registry, names, std::chrono::seconds(1));
}

}  // namespace courier::detail
