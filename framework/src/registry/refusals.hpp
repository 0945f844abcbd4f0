#pragma once
/// @file
/// How courierd words a refusal (a Status with ok false), shared by the tables that serve
/// requests, so a client reads the same sentence for the same mistake whatever it asked.

#include "registry/registry_protocol.hpp"

#include <string>
#include <utility>

namespace courier::registry {

inline Status refuse(std::string why) {
    return Status{false, std::move(why)};
}

/// Why `name`, used as `what` ("name", "group name"), is refused: it fails is_valid_name.
inline std::string invalid_name(const std::string& what, const std::string& name) {
    return "invalid " + what + " '" + name +
           "': use 1 to 255 printable ASCII characters, no spaces";
}

}  // namespace courier::registry
