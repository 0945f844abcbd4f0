#include <courier/transports/transport_options.hpp>

#include <array>
#include <stdexcept>

namespace courier {

namespace {

void expect(const SettingSpec& spec, SettingType type) {
    if (spec.type != type) {
        throw std::logic_error("setting \"" + std::string(spec.name) + "\" is a " +
                               std::string(to_string(spec.type)) + ", read as a " +
                               std::string(to_string(type)));
    }
}

}  // namespace

std::span<const SettingSpec> generic_settings() noexcept {
    static constexpr std::array settings{max_frame_size_setting, handshake_timeout_setting};
    return settings;
}

std::int64_t TransportOptions::value(const SettingSpec& spec) const {
    auto found = settings.find(spec.name);
    return found == settings.end() ? spec.default_value : found->second;
}

std::size_t TransportOptions::size(const SettingSpec& spec) const {
    expect(spec, SettingType::size);
    return static_cast<std::size_t>(value(spec));
}

std::chrono::microseconds TransportOptions::duration(const SettingSpec& spec) const {
    expect(spec, SettingType::duration);
    return std::chrono::microseconds(value(spec));
}

std::int64_t TransportOptions::integer(const SettingSpec& spec) const {
    expect(spec, SettingType::integer);
    return value(spec);
}

bool TransportOptions::flag(const SettingSpec& spec) const {
    expect(spec, SettingType::boolean);
    return value(spec) != 0;
}

TransportOptions& TransportOptions::set(const SettingSpec& spec, std::int64_t value) {
    settings.insert_or_assign(std::string(spec.name), value);
    return *this;
}

}  // namespace courier
