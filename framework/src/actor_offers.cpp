// Actor placement: the actor that serves an offered kind (actor_offers.hpp), and
// Node::offer, Node::spawn_on and Node::stop_placed(PlacedActor) on it.

#include "actor_offers.hpp"

#include "node_core.hpp"

#include "registry/registry_client.hpp"
#include "registry/registry_error.hpp"

#include <courier/framework/node.hpp>

#include <exception>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace courier {

namespace detail {

std::function<void(Actor&)> offer_actor(std::string kind, OfferedKind make) {
    return [kind = std::move(kind), make = std::move(make)](Actor& self) {
        // What it started and still runs: a monitor of each (its end forgets it) and of
        // what it is bound to (whose end stops it).
        struct Started {
            Monitor own;
            Monitor bound;
        };
        auto started = std::make_shared<std::map<std::string, Started>>();
        const auto refuse = [&self](ErrorCode code, std::string why) {
            self.reply(OfferAnswer{false, static_cast<std::uint8_t>(code), std::move(why)});
        };

        self.handle([&self, kind, make, started, refuse](SpawnOffered& request) {
            std::function<void(Actor&)> setup;
            try {
                setup = make(request.args);
            } catch (const std::exception& e) {
                return refuse(ErrorCode::refused,
                              "actor kind '" + kind + "' refused its arguments: " + e.what());
            }
            if (!setup)
                return refuse(ErrorCode::refused,
                              "actor kind '" + kind + "' made no actor of its arguments");
            try {
                self.spawn_child(request.name, std::move(setup));
            } catch (const SetupError& e) {
                return refuse(e.code(), e.what());
            }
            Started entry{self.monitor(request.name), {}};
            if (!request.bound_to.empty()) entry.bound = self.monitor(request.bound_to);
            (*started)[request.name] = std::move(entry);
            self.reply(OfferAnswer{true, 0, {}});
        });

        self.handle([&self, started, refuse](StopOffered& request) {
            if (started->find(request.name) == started->end())
                return refuse(ErrorCode::refused, "node '" + self.node().name() +
                                                      "' started no actor '" + request.name +
                                                      "' that still runs");
            self.node().stop(request.name);  // its Down then forgets it
            self.reply(OfferAnswer{true, 0, {}});
        });

        self.handle([&self, started](Down& down) {
            for (auto it = started->begin(); it != started->end(); ++it) {
                if (down.monitor == it->second.own.id) {
                    if (it->second.bound.id != 0) self.demonitor(it->second.bound);
                    started->erase(it);
                    return;
                }
                if (it->second.bound.id != 0 && down.monitor == it->second.bound.id) {
                    self.node().stop(it->first);
                    return;
                }
            }
        });

        // A child that fails past its own policy stops; the node has logged why.
        self.handle([](ChildFailed&) {});
    };
}

}  // namespace detail

void Node::offer(std::string kind, OfferedKind make) {
    if (!make) throw std::invalid_argument("Node::offer: no OfferedKind for '" + kind + "'");
    auto name = detail::offer_name(kind);
    spawn(std::move(name), detail::offer_actor(std::move(kind), std::move(make)));
}

Expected<PlacedActor, Error> Node::spawn_on(const ActorPlacement& placement) {
    std::string bound = placement.bound_to;
    // Checked here, where the name lives: the offer would only see it go at once.
    if (!bound.empty() && !wait_for(bound, std::chrono::milliseconds(0)))
        return Unexpected{
            Error{ErrorCode::refused, "bound_to '" + bound + "' is no actor of this host"}};
    RegistryClient* registry = core_->registry();
    if (registry == nullptr)
        return Unexpected{Error{ErrorCode::link_failed,
                                "node '" + name() + "' has no registry to find offers through"}};
    std::string target = detail::offer_name(placement.kind);
    std::string where = "this host";
    registry::Location offer;
    try {
        if (!placement.host.empty()) {
            const auto host = registry->lookup_host(placement.host);
            if (!host.found) return Unexpected{Error{ErrorCode::unknown_name, host.error}};
            if (!bound.empty()) bound += "@" + host.own_host;
            target += "@" + placement.host;
            where = "host '" + placement.host + "'";
        }
        // Asked first, so that "nobody offers it" is told apart from a link that fails.
        offer = registry->lookup(target);
    } catch (const RegistryError& e) {
        return Unexpected{Error{ErrorCode::link_failed, e.what()}};
    }
    if (!offer.found)
        return Unexpected{
            Error{ErrorCode::unknown_name,
                  where + " has no node that offers actor kind '" + placement.kind + "'"}};
    auto answer = request<detail::OfferAnswer>(
        target, detail::SpawnOffered{placement.name, placement.args, bound}, placement.timeout);
    if (!answer) return Unexpected{std::move(answer.error())};
    if (!answer->ok)
        return Unexpected{Error{
            is_error_code(answer->code) ? static_cast<ErrorCode>(answer->code) : ErrorCode::refused,
            std::move(answer->error)}};
    return PlacedActor{placement.host, placement.kind, placement.name};
}

Expected<void, Error> Node::stop_placed(const PlacedActor& actor,
                                        std::chrono::milliseconds timeout) {
    std::string target = detail::offer_name(actor.kind);
    if (!actor.host.empty()) target += "@" + actor.host;
    auto answer = request<detail::OfferAnswer>(target, detail::StopOffered{actor.name}, timeout);
    if (!answer) return Unexpected{std::move(answer.error())};
    if (!answer->ok) return Unexpected{Error{ErrorCode::refused, std::move(answer->error)}};
    return {};
}

}  // namespace courier
