#pragma once
/// @file
/// Lists of transport schemes as the config reader and link selection filter them and
/// print them in errors. Private to courier_framework.

#include <courier/framework/config.hpp>
#include <courier/transports/transport.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace courier::detail {

/// "a, b, c", or "none" for an empty list.
inline std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += ", ";
        out += item;
    }
    return out.empty() ? std::string("none") : out;
}

inline bool contains(const std::vector<std::string>& items, std::string_view item) {
    return std::find(items.begin(), items.end(), item) != items.end();
}

/// Whether a transport can carry file descriptors, as it says itself.
inline bool passes_fds(std::string_view scheme) {
    const auto* transport = TransportRegistry::builtin().find(scheme);
    return transport != nullptr && transport->capabilities.fd_passing;
}

/// The schemes among `schemes` that pass descriptors, in their order.
inline std::vector<std::string> fd_capable(const std::vector<std::string>& schemes) {
    std::vector<std::string> capable;
    for (const auto& scheme : schemes)
        if (passes_fds(scheme)) capable.push_back(scheme);
    return capable;
}

/// " (app.toml:7)": where `rule` is written in `config`'s file; empty for a rule made in
/// code.
inline std::string where_written(const Config& config, const LinkRule& rule) {
    return rule.line == 0 ? std::string()
                          : " (" + config.source + ":" + std::to_string(rule.line) + ")";
}

}  // namespace courier::detail
