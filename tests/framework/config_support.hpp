#pragma once
/// @file
/// What the config and link-selection tests share: registries of some transports, a
/// parse that names the file, environment variables and files that last one test.

#include <courier/framework/config.hpp>
#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace config_support {

using courier::Config;
using courier::ConfigError;
using courier::TransportRegistry;

/// A registry of the builtin transports `schemes` names, in that order: a build with
/// only some transports, and error messages that list them in a known order.
inline TransportRegistry registry_of(const std::vector<std::string>& schemes) {
    TransportRegistry registry;
    for (const auto& scheme : schemes) {
        const auto* entry = TransportRegistry::builtin().find(scheme);
        if (entry == nullptr) throw std::logic_error("no builtin transport " + scheme);
        registry.add(*entry);
    }
    return registry;
}

/// Every scheme courier defines, in the default preference order.
inline const TransportRegistry& all_schemes() {
    static const TransportRegistry registry = registry_of(courier::default_preference_order());
    return registry;
}

inline Config parse(const std::string& text) {
    return Config::parse(text, "test.toml", all_schemes());
}

/// The error parsing `text` gives; fails the test if it parses.
inline ConfigError error_of(const std::string& text, const std::vector<std::string>& available =
                                                         courier::default_preference_order()) {
    try {
        Config::parse(text, "test.toml", registry_of(available));
    } catch (const ConfigError& error) {
        return error;
    }
    FAIL("parsed without error:\n" << text);
    throw std::logic_error("unreachable");
}

inline std::filesystem::path example_file() {
    return std::filesystem::path(COURIER_SOURCE_DIR) / "docs" / "courier.example.toml";
}

/// Sets or clears an environment variable for one test, restoring it afterwards.
class EnvGuard {
  public:
    EnvGuard(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value != nullptr) {
            ::setenv(name, value, 1);
        } else {
            ::unsetenv(name);
        }
    }
    ~EnvGuard() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }
    EnvGuard(const EnvGuard&) = delete;
    EnvGuard& operator=(const EnvGuard&) = delete;

  private:
    const char* name_;
    std::optional<std::string> old_;
};

/// A config file unique to this process and test, removed afterwards.
class TempFile {
  public:
    TempFile(const std::string& test, const std::string& text)
        : path_(std::filesystem::temp_directory_path() /
                ("courier-config-" + std::to_string(::getpid()) + "-" + test + ".toml")) {
        std::ofstream(path_) << text;
    }
    ~TempFile() {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

inline const std::vector<std::string> both = {"shm", "unix", "tcp"};

}  // namespace config_support
