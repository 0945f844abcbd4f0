#pragma once
/// @file
/// Reading a config's `[registry]` table: how a node reaches courierd, and what courierd
/// does across hosts (docs/multihost.md): the federation's peers or etcd, and the programs
/// other hosts may start here. Each refusal a ConfigError that names the place.

#include "toml_fields.hpp"

#include <courier/framework/config.hpp>
#include <courier/transports/transport.hpp>

#include <string>

namespace courier::detail {

class RegistryReader : TomlFields {
  public:
    /// `transports`: the ones whose endpoints `listen` and `peers` may name.
    RegistryReader(std::string source, const TransportRegistry& transports)
        : TomlFields(std::move(source)), transports_(transports) {}

    void read(const toml::table& table, RegistrySettings& registry) const;

  private:
    void read_placeable(const toml::key& key, const toml::node& node,
                        RegistrySettings& registry) const;
    std::string etcd_endpoint(const toml::node& node) const;
    std::string host_endpoint(const toml::key& key, const toml::node& node,
                              std::string_view what) const;

    const TransportRegistry& transports_;
};

}  // namespace courier::detail
