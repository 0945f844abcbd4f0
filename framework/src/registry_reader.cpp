#include "registry_reader.hpp"

#include <courier/serialization/envelope.hpp>
#include <courier/transports/endpoint.hpp>

#include <stdexcept>
#include <string>
#include <utility>

namespace courier::detail {

void RegistryReader::read(const toml::table& table, RegistrySettings& registry) const {
    for (const auto& [key, value] : table) {
        if (key.str() == "autostart") {
            registry.autostart = boolean_of(key, value, "registry.autostart");
        } else if (key.str() == "idle_exit_ms") {
            registry.idle_exit =
                std::chrono::milliseconds(integer_of(key, value, "registry.idle_exit_ms", 0));
        } else if (key.str() == "timeout_ms") {
            registry.timeout =
                std::chrono::milliseconds(integer_of(key, value, "registry.timeout_ms", 1));
        } else if (key.str() == "host") {
            registry.host = string_of(key, value, "registry.host");
            if (!registry.host.empty() &&
                (!is_valid_name(registry.host) || registry.host.find('@') != std::string::npos))
                fail(key.source(),
                     "registry.host must be 1 to 255 printable ASCII characters, "
                     "no space and no '@'");
        } else if (key.str() == "listen") {
            registry.listen = host_endpoint(key, value, "registry.listen");
        } else if (key.str() == "peers") {
            const auto* array = value.as_array();
            if (array == nullptr)
                fail(key.source(), "registry.peers must be an array of endpoints");
            registry.peers.clear();
            for (const auto& element : *array)
                registry.peers.push_back(host_endpoint(key, element, "registry.peers"));
        } else if (key.str() == "heartbeat_ms") {
            registry.heartbeat =
                std::chrono::milliseconds(integer_of(key, value, "registry.heartbeat_ms", 1));
        } else if (key.str() == "host_down_ms") {
            registry.host_down =
                std::chrono::milliseconds(integer_of(key, value, "registry.host_down_ms", 1));
        } else if (key.str() == "redial_ms") {
            registry.redial =
                std::chrono::milliseconds(integer_of(key, value, "registry.redial_ms", 1));
        } else if (key.str() == "mode") {
            registry.mode = string_of(key, value, "registry.mode");
            if (registry.mode != "static" && registry.mode != "etcd")
                fail(key.source(),
                     "registry.mode must be \"static\" or \"etcd\", not \"" + registry.mode + "\"");
        } else if (key.str() == "etcd") {
            const auto* array = value.as_array();
            if (array == nullptr)
                fail(key.source(), "registry.etcd must be an array of \"http://host:port\"");
            registry.etcd.clear();
            for (const auto& element : *array) registry.etcd.push_back(etcd_endpoint(element));
        } else if (key.str() == "placeable") {
            read_placeable(key, value, registry);
        } else if (key.str() == "etcd_prefix") {
            registry.etcd_prefix = string_of(key, value, "registry.etcd_prefix");
            const auto& prefix = registry.etcd_prefix;
            if (!prefix.starts_with('/') || prefix.ends_with('/') || prefix.size() > 255)
                fail(key.source(),
                     "registry.etcd_prefix must start with '/' and not end with one, "
                     "as \"/courier\" does");
        } else {
            unknown(key, "key", "[registry]",
                    {"autostart", "idle_exit_ms", "timeout_ms", "host", "listen", "peers",
                     "heartbeat_ms", "host_down_ms", "redial_ms", "mode", "etcd", "etcd_prefix",
                     "placeable"});
        }
    }
    // Each mode has its own way to the other hosts; the other's keys would do nothing.
    if (registry.mode == "etcd" && registry.etcd.empty())
        fail(table.source(), "registry.mode = \"etcd\" needs registry.etcd, its endpoints");
    if (registry.mode == "etcd" && !registry.peers.empty())
        fail(table.source(),
             "registry.peers is for the static mode: in etcd mode the hosts find each "
             "other in etcd");
    if (registry.mode == "static" && !registry.etcd.empty())
        fail(table.source(), "registry.etcd is for registry.mode = \"etcd\"");
}

/// An etcd endpoint: "http://host:port" (the JSON gateway; no TLS yet).
std::string RegistryReader::etcd_endpoint(const toml::node& node) const {
    const auto* text = node.as_string();
    const std::string why = "registry.etcd must hold endpoints \"http://host:port\"";
    if (text == nullptr) fail(node.source(), why);
    const std::string& endpoint = text->get();
    const auto colon = endpoint.rfind(':');
    const bool valid = endpoint.starts_with("http://") && colon > 7 &&
                       colon + 1 < endpoint.size() &&
                       endpoint.find_first_not_of("0123456789", colon + 1) == std::string::npos;
    if (!valid) fail(node.source(), why + ", not \"" + endpoint + "\"");
    return endpoint;
}

/// The endpoint of a courierd of the federation: one of a transport that crosses hosts.
std::string RegistryReader::host_endpoint(const toml::key& key, const toml::node& node,
                                          std::string_view what) const {
    const auto* text = node.as_string();
    if (text == nullptr)
        fail(node.source(), std::string(what) + " must hold endpoints (strings), not " +
                                std::string(toml_type_name(node)));
    if (text->get().empty() && what == "registry.listen") return {};  // listens nowhere
    try {
        const auto endpoint = Endpoint::parse(text->get());
        const auto* entry = transports_.find(endpoint.scheme);
        if (entry == nullptr || !entry->capabilities.cross_host)
            fail(node.source(), std::string(what) + ": \"" + text->get() +
                                    "\" is not of a transport that crosses hosts");
    } catch (const std::invalid_argument& e) {
        fail(key.source(), std::string(what) + ": " + e.what());
    }
    return text->get();
}

/// `[registry.placeable.<name>]`: a program other hosts may start here by that name.
void RegistryReader::read_placeable(const toml::key& key, const toml::node& node,
                                    RegistrySettings& registry) const {
    for (const auto& [name, entry] : table_of(key, node, "[registry.placeable]")) {
        const std::string what = "registry.placeable." + std::string(name.str());
        if (!is_valid_name(name.str()))
            fail(name.source(), what +
                                    ": a program's name must be 1 to 255 printable ASCII "
                                    "characters, no space");
        RegistrySettings::Placeable program;
        for (const auto& [field, value] : table_of(name, entry, "[" + what + "]")) {
            if (field.str() == "argv") {
                const auto* array = value.as_array();
                if (array == nullptr || array->empty())
                    fail(field.source(), what +
                                             ".argv must be an array of strings: the program "
                                             "and its first arguments");
                for (const auto& element : *array) {
                    const auto* text = element.as_string();
                    if (text == nullptr)
                        fail(element.source(), what + ".argv must hold strings, not " +
                                                   std::string(toml_type_name(element)));
                    program.argv.push_back(text->get());
                }
                if (program.argv.front().empty())
                    fail(field.source(), what + ".argv must start with the program's path");
            } else if (field.str() == "extra_args") {
                program.extra_args = boolean_of(field, value, what + ".extra_args");
            } else {
                unknown(field, "key", "[" + what + "]", {"argv", "extra_args"});
            }
        }
        if (program.argv.empty()) fail(name.source(), what + " needs argv, the program to start");
        registry.placeable[std::string(name.str())] = std::move(program);
    }
}

}  // namespace courier::detail
