#pragma once
/// @file
/// Placement's asking side (registry/placement_protocol.hpp), for Node::place and the
/// `courier place` command alike: asks `registry` (the asker's courierd) where the host's
/// courierd listens, dials it there with `config`'s transport settings (the cookie's
/// handshake), asks once and closes. `asker` names who asks in that host's log. The errors
/// are Node::place's.

#include <courier/expected.hpp>
#include <courier/framework/config.hpp>
#include <courier/framework/error.hpp>
#include <courier/framework/placement.hpp>

#include <chrono>
#include <string>

namespace courier {

class RegistryClient;

namespace detail {

Expected<PlacedProcess, Error> place(RegistryClient& registry, const Config& config,
                                     const std::string& asker, const Placement& placement);
Expected<void, Error> stop_placed(RegistryClient& registry, const Config& config,
                                  const std::string& asker, const PlacedProcess& process,
                                  StopSignal how, std::chrono::milliseconds timeout);

}  // namespace detail
}  // namespace courier
