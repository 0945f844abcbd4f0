#include <courier/transports/setting.hpp>

namespace courier {

std::string_view to_string(SettingType type) noexcept {
    switch (type) {
        case SettingType::size:
            return "size";
        case SettingType::duration:
            return "duration";
        case SettingType::integer:
            return "integer";
        case SettingType::boolean:
            return "boolean";
    }
    return "integer";
}

std::string SettingSpec::check(std::int64_t value) const {
    if (type == SettingType::boolean) {
        if (value == 0 || value == 1) return {};
        return "must be true or false, not " + std::to_string(value);
    }
    if (value >= minimum) return {};
    return "must be " +
           (minimum == 0 ? std::string("0 or more") : "at least " + std::to_string(minimum)) +
           ", not " + std::to_string(value);
}

}  // namespace courier
