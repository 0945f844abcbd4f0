#pragma once
/// @file
/// A Config as TOML text, so that a node's children start with its config
/// (Node::spawn_process puts it in their environment as COURIER_CONFIG_TOML, which
/// Config::from_environment reads before COURIER_CONFIG).

#include <courier/framework/config.hpp>

#include <string>

namespace courier::detail {

/// The variable a parent node sets to its config's text for its children.
inline constexpr const char* config_text_variable = "COURIER_CONFIG_TOML";

/// `config` as a TOML document that Config::parse reads back as an equal config (but for
/// `override_transport`, which is no key of the file, and `source`).
std::string to_toml(const Config& config);
/// The config a process started by this one reads (a node's child, courierd's placed
/// program): to_toml(config), without a `listen` address that is one process's own (a
/// fixed port or path): only one that ends in ":0" (the kernel picks a port) is passed on.
std::string inherited_toml(const Config& config);

}  // namespace courier::detail
