#pragma once
/// @file
/// The links between the master and its workers carry sockets (httpd::NewConnection), and
/// only a transport that passes descriptors can: `unix:` in this build. Both programs
/// put the rule first in their config, so it holds whichever side connects first (a
/// link's transport is chosen by the node that opens it) and whatever file the user
/// gave: a rule of theirs that matched these nodes first would pick another transport.

#include <courier/courier.hpp>
#include <courier/transports/transport.hpp>

#include <optional>
#include <string>

namespace httpd {

/// Every node of this sample has a name that starts so (`prefork_httpd`,
/// `prefork_httpd-worker-<pid>`).
inline constexpr const char* node_prefix = "prefork_httpd";

/// Puts `[[links.rule]] from = "prefork_httpd*", to = "prefork_httpd*", fds = true` first
/// in `config` (once: a worker inherits its master's config with the rule in it).
inline void carry_sockets(courier::Config& config) {
    const std::string pattern = std::string(node_prefix) + "*";
    const courier::LinkRule rule{pattern, pattern, "", 0, true};
    const auto same = [&](const courier::LinkRule& r) {
        return r.from == rule.from && r.to == rule.to && r.fds && r.transport.empty();
    };
    if (!config.rules.empty() && same(config.rules.front())) return;
    config.rules.insert(config.rules.begin(), rule);
}

/// Why `config` cannot carry sockets, if it cannot: COURIER_TRANSPORT forces every link
/// onto one transport, and a rule cannot override it. Checked at start, so the user reads
/// one sentence instead of a dead letter per connection.
inline std::optional<std::string> cannot_carry_sockets(const courier::Config& config) {
    if (!config.override_transport) return std::nullopt;
    const auto* entry = courier::TransportRegistry::builtin().find(*config.override_transport);
    if (entry && entry->capabilities.fd_passing) return std::nullopt;
    return "COURIER_TRANSPORT=" + *config.override_transport +
           " cannot pass the sockets the master hands to its workers; unset it, or name a "
           "transport that passes file descriptors";
}

}  // namespace httpd
