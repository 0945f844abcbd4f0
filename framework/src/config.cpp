#include <courier/framework/config.hpp>
#include <courier/transports/transport.hpp>

#include "config_reader.hpp"
#include "config_text.hpp"
#include "scheme_lists.hpp"
#include "toml_guard.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

namespace courier {

using detail::fd_capable;
using detail::join;
using detail::passes_fds;
using detail::where_written;

namespace {

const std::string* getenv_nonempty(const char* name, std::string& storage) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') return nullptr;
    storage = value;
    return &storage;
}

}  // namespace

ConfigError::ConfigError(std::string source, std::uint32_t line, std::uint32_t column,
                         std::string reason)
    : std::runtime_error(line == 0 ? source + ": " + reason
                                   : source + ":" + std::to_string(line) + ":" +
                                         std::to_string(column) + ": " + reason),
      source_(std::move(source)),
      line_(line),
      column_(column),
      reason_(std::move(reason)) {}

TransportOptions TransportSettings::options() const {
    TransportOptions options;
    for (const auto& [name, value] : values) {
        if (name == max_frame_size_setting.name) {
            options.max_frame_size = static_cast<std::size_t>(value);
        } else if (name == handshake_timeout_setting.name) {
            options.handshake_timeout = std::chrono::microseconds(value);
        } else {
            options.settings.emplace(name, value);
        }
    }
    return options;
}

const std::vector<std::string>& default_preference_order() {
    static const std::vector<std::string> order = TransportRegistry::builtin().preference_order();
    return order;
}

namespace {
std::vector<std::string> same_host_only(const TransportRegistry& available) {
    std::vector<std::string> order = available.preference_order();
    std::erase_if(order, [&](const std::string& scheme) {
        const auto* entry = available.find(scheme);
        return entry && entry->capabilities.cross_host;
    });
    return order;
}
}  // namespace

const std::vector<std::string>& default_same_host_preference() {
    static const std::vector<std::string> order = same_host_only(TransportRegistry::builtin());
    return order;
}

// The overloads without a registry, instead of default arguments: config.hpp then needs
// no more of the transports layer than two names.
Config Config::defaults() {
    return defaults(TransportRegistry::builtin());
}
Config Config::parse(std::string_view text, std::string_view source_name) {
    return parse(text, source_name, TransportRegistry::builtin());
}
Config Config::load_file(const std::filesystem::path& path) {
    return load_file(path, TransportRegistry::builtin());
}
Config Config::from_environment(const std::filesystem::path& config_flag) {
    return from_environment(config_flag, TransportRegistry::builtin());
}

Config Config::defaults(const TransportRegistry& available) {
    Config config;
    config.preference = same_host_only(available);
    return config;
}

Config Config::parse(std::string_view text, std::string_view source_name,
                     const TransportRegistry& available) {
    const std::string source(source_name);
    detail::check_toml_text(text, source);  // what toml++ 3.3 cannot read safely (toml_guard.hpp)
    toml::table root;
    const detail::TomlChecks checks;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& error) {
        throw ConfigError(source, error.source().begin.line, error.source().begin.column,
                          std::string(error.description()));
    }
    Config config = detail::read_config(root, source, available);
    if (const auto* failed = checks.failure()) {
        // toml++ went on past a broken check of its own and found no error: what it read
        // cannot be trusted.
        throw ConfigError(source, 0, 0,
                          std::string("toml++ cannot read this text (its check ") +
                              failed->expression + " failed)");
    }
    return config;
}

Config Config::load_file(const std::filesystem::path& path, const TransportRegistry& available) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError(path.string(), 0, 0,
                          std::string("cannot read the config file: ") + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        throw ConfigError(path.string(), 0, 0, "cannot read the config file");
    }
    return parse(text.str(), path.string(), available);
}

Config Config::from_environment(const std::filesystem::path& config_flag,
                                const TransportRegistry& available) {
    std::string storage;
    Config config;
    if (!config_flag.empty()) {
        config = load_file(config_flag, available);
    } else if (const std::string* text = getenv_nonempty(detail::config_text_variable, storage)) {
        config = parse(*text, detail::config_text_variable, available);
    } else if (const std::string* path = getenv_nonempty("COURIER_CONFIG", storage)) {
        config = load_file(*path, available);
    } else {
        config = defaults(available);
    }
    if (const std::string* scheme = getenv_nonempty("COURIER_TRANSPORT", storage)) {
        try {
            detail::check_transport_name(*scheme, "COURIER_TRANSPORT", available);
        } catch (const ConfigError& error) {
            throw ConfigError("COURIER_TRANSPORT", 0, 0, error.reason());
        }
        if (!passes_fds(*scheme)) {
            for (const auto& rule : config.rules) {
                if (!rule.fds) continue;
                throw ConfigError("COURIER_TRANSPORT", 0, 0,
                                  *scheme +
                                      " cannot pass file descriptors, which the links of "
                                      "rule \"" +
                                      rule.describe() + "\"" + where_written(config, rule) +
                                      " carry; use one that can (" +
                                      join(fd_capable(detail::schemes_of(available))) + ")");
            }
        }
        config.override_transport = *scheme;
    }
    return config;
}

const TransportSettings& Config::settings(std::string_view scheme) const {
    static const TransportSettings defaults;
    auto found = transports.find(scheme);
    return found == transports.end() ? defaults : found->second;
}

}  // namespace courier
