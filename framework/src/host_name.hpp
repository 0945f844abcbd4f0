#pragma once
/// @file
/// `name@host`: an actor name qualified by the host whose registry holds it
/// (docs/multihost.md). Actor and node names never contain '@', so the last one splits.

#include <string>
#include <string_view>

namespace courier::detail {

struct HostQualified {
    std::string_view actor;  ///< the name before '@' (all of it when there is none)
    std::string_view host;   ///< after '@'; empty when the name is not qualified
};

inline HostQualified split_host(std::string_view name) noexcept {
    const auto at = name.rfind('@');
    if (at == std::string_view::npos) return {name, {}};
    return {name.substr(0, at), name.substr(at + 1)};
}

/// Why a name that an actor or a node would be registered under is refused, or empty.
inline std::string host_qualifier_problem(std::string_view name) {
    if (name.find('@') == std::string_view::npos) return {};
    return "'" + std::string(name) + "' has an '@', which names a host (name@host), not an actor";
}

}  // namespace courier::detail
