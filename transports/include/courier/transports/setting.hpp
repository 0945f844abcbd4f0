#pragma once
/// @file
/// Settings a transport declares next to its code: a name, a type, a default, a least
/// value and one line of documentation. The registry exposes them
/// (TransportEntry::settings), the config loader checks `[transport.<scheme>]` tables
/// against them, and the transport reads the values from TransportOptions.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace courier {

/// How a setting's value is written and read. Every value is held as an int64.
enum class SettingType : std::uint8_t {
    size,      ///< bytes, a TOML integer; read as std::size_t
    duration,  ///< microseconds, a TOML integer (name it `..._us`); read as microseconds
    integer,   ///< a count, a TOML integer
    boolean,   ///< a TOML boolean; held as 0 or 1
};

/// "size", "duration", "integer" or "boolean".
std::string_view to_string(SettingType type) noexcept;

/// One setting of a transport. Declare it `static constexpr` in the transport, list it
/// in the transport's `settings` array, and read it with TransportOptions::size() (or
/// duration(), integer(), flag()).
struct SettingSpec {
    std::string_view name;
    SettingType type = SettingType::integer;
    std::int64_t default_value = 0;
    /// The least value accepted (booleans: 0).
    std::int64_t minimum = 0;
    /// One line: what it does, and what the default means.
    std::string_view doc;

    /// Empty when `value` is acceptable, else why not ("must be 0 or more, not -1").
    std::string check(std::int64_t value) const;
};

}  // namespace courier
