#pragma once
/// @file
/// Reading a config's TOML: every table, key and value checked against what the
/// transports offer, every refusal a ConfigError that names the place (file:line:column).
/// config.cpp finds the text (a file, the environment) and hands it here.

#include "toml_guard.hpp"

#include <courier/framework/config.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace courier::detail {

/// The Config a parsed document `root` (from `source`, for messages) says.
Config read_config(const toml::table& root, std::string source, const TransportRegistry& available);
/// Throws ConfigError (from `source`) unless `scheme` is a transport of `available`.
void check_transport_name(std::string_view scheme, std::string source,
                          const TransportRegistry& available);
/// The schemes of `registry`'s transports.
std::vector<std::string> schemes_of(const TransportRegistry& registry);

}  // namespace courier::detail
