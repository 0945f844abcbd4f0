#include "config_text.hpp"
#include "toml_guard.hpp"

#include <courier/transports/transport.hpp>
#include <courier/transports/transport_options.hpp>

#include <sstream>

namespace courier::detail {

namespace {

/// Whether `setting` of `scheme` is written as a boolean (else an integer).
bool is_boolean(std::string_view scheme, std::string_view setting) {
    for (const auto& spec : generic_settings())
        if (spec.name == setting) return spec.type == SettingType::boolean;
    const TransportEntry* transport = TransportRegistry::builtin().find(scheme);
    const SettingSpec* spec = transport ? transport->find_setting(setting) : nullptr;
    return spec != nullptr && spec->type == SettingType::boolean;
}

}  // namespace

std::string to_toml(const Config& config) {
    toml::array preference;
    for (const auto& scheme : config.preference) preference.push_back(scheme);
    toml::table links{{"preference", std::move(preference)}};
    if (!config.rules.empty()) {
        toml::array rules;
        for (const auto& rule : config.rules) {
            toml::table entry{{"from", rule.from}, {"to", rule.to}};
            if (!rule.transport.empty()) entry.insert("transport", rule.transport);
            if (rule.fds) entry.insert("fds", true);
            rules.push_back(std::move(entry));
        }
        links.insert("rule", std::move(rules));
    }
    toml::table root{{"links", std::move(links)}};

    toml::table node;
    if (config.node.cpus) node.insert("cpus", *config.node.cpus);
    if (config.node.threads)
        node.insert("threads", static_cast<std::int64_t>(*config.node.threads));
    if (config.node.worker_spin)
        node.insert("worker_spin_us", static_cast<std::int64_t>(config.node.worker_spin->count()));
    if (config.node.runtime_dir) node.insert("runtime_dir", config.node.runtime_dir->string());
    if (!node.empty()) root.insert("node", std::move(node));

    toml::table registry;
    if (config.registry.autostart) registry.insert("autostart", *config.registry.autostart);
    if (config.registry.idle_exit)
        registry.insert("idle_exit_ms",
                        static_cast<std::int64_t>(config.registry.idle_exit->count()));
    if (config.registry.timeout)
        registry.insert("timeout_ms", static_cast<std::int64_t>(config.registry.timeout->count()));
    const auto& federation = config.registry;
    if (!federation.host.empty()) registry.insert("host", federation.host);
    if (!federation.listen.empty()) registry.insert("listen", federation.listen);
    if (!federation.peers.empty()) {
        toml::array peers;
        for (const auto& peer : federation.peers) peers.push_back(peer);
        registry.insert("peers", std::move(peers));
    }
    if (federation.heartbeat)
        registry.insert("heartbeat_ms", static_cast<std::int64_t>(federation.heartbeat->count()));
    if (federation.host_down)
        registry.insert("host_down_ms", static_cast<std::int64_t>(federation.host_down->count()));
    if (federation.redial)
        registry.insert("redial_ms", static_cast<std::int64_t>(federation.redial->count()));
    if (federation.mode != "static") registry.insert("mode", federation.mode);
    if (!federation.etcd.empty()) {
        toml::array endpoints;
        for (const auto& endpoint : federation.etcd) endpoints.push_back(endpoint);
        registry.insert("etcd", std::move(endpoints));
    }
    if (!federation.etcd_prefix.empty()) registry.insert("etcd_prefix", federation.etcd_prefix);
    if (!federation.placeable.empty()) {
        toml::table placeable;
        for (const auto& [name, program] : federation.placeable) {
            toml::array argv;
            for (const auto& arg : program.argv) argv.push_back(arg);
            toml::table entry;
            entry.insert("argv", std::move(argv));
            if (program.extra_args) entry.insert("extra_args", true);
            placeable.insert(name, std::move(entry));
        }
        registry.insert("placeable", std::move(placeable));
    }
    if (!registry.empty()) root.insert("registry", std::move(registry));

    toml::table transports;
    for (const auto& [scheme, settings] : config.transports) {
        if (settings.values.empty() && !settings.listen) continue;
        toml::table table;
        if (settings.listen) table.insert("listen", *settings.listen);
        for (const auto& [name, value] : settings.values) {
            if (is_boolean(scheme, name))
                table.insert(name, value != 0);
            else
                table.insert(name, value);
        }
        transports.insert(scheme, std::move(table));
    }
    if (!transports.empty()) root.insert("transport", std::move(transports));

    std::ostringstream text;
    text << root;
    return text.str();
}

std::string inherited_toml(const Config& config) {
    Config inherited = config;
    for (auto& [scheme, settings] : inherited.transports)
        if (settings.listen && !settings.listen->ends_with(":0")) settings.listen.reset();
    return to_toml(inherited);
}

}  // namespace courier::detail
