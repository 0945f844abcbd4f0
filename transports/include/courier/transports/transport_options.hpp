#pragma once
/// @file
/// What a transport's listen/connect are given: the generic options every transport
/// understands, and the values of the transport's own declared settings.

#include <courier/transports/setting.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>

namespace courier {

/// The generic `max_frame_size`: frames larger than this are refused by the sender and
/// are a protocol violation for the receiver.
inline constexpr SettingSpec max_frame_size_setting{
    "max_frame_size", SettingType::size, std::int64_t{64} << 20, 1,
    "largest frame; larger ones are refused by the sender and close the link at the receiver"};

/// The generic `handshake_timeout_us`: how long an accepted connection may take to say
/// who it is before it is closed. tcp's cookie handshake must end within it, and then,
/// on every transport, the node's Hello must arrive within it (docs/security.md).
inline constexpr SettingSpec handshake_timeout_setting{
    "handshake_timeout_us", SettingType::duration, 5'000'000, 1'000,
    "close a connection that has not said who it is (tcp: proved the cookie; then the "
    "node's Hello) within this long"};

/// The settings every transport takes, held in named fields of TransportOptions rather
/// than in TransportOptions::settings.
std::span<const SettingSpec> generic_settings() noexcept;

struct TransportOptions {
    /// Generic: see max_frame_size_setting.
    std::size_t max_frame_size = static_cast<std::size_t>(max_frame_size_setting.default_value);
    /// Generic: see handshake_timeout_setting.
    std::chrono::microseconds handshake_timeout{handshake_timeout_setting.default_value};
    /// The transport's own settings by name (sizes in bytes, durations in microseconds,
    /// booleans 0/1). A setting not here takes its declared default. The registry refuses
    /// a name the transport does not declare and a value below its minimum.
    std::map<std::string, std::int64_t, std::less<>> settings;

    /// What was set for `spec`, else its default.
    std::int64_t value(const SettingSpec& spec) const;
    /// value(), typed; each throws std::logic_error if `spec` is of another type.
    std::size_t size(const SettingSpec& spec) const;
    std::chrono::microseconds duration(const SettingSpec& spec) const;
    std::int64_t integer(const SettingSpec& spec) const;
    bool flag(const SettingSpec& spec) const;
    /// Sets one of the transport's settings (chainable), e.g.
    /// `options.set(ShmTransport::ring_size, 4096)`.
    TransportOptions& set(const SettingSpec& spec, std::int64_t value);
};

}  // namespace courier
