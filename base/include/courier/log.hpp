#pragma once
/// @file
/// The logger courier writes to. It is `courier` in spdlog's registry, the one registry
/// the app shares (spdlog is a shared library on Debian), so `spdlog::get("courier")`
/// finds it and the app's spdlog calls configure it. docs/observability.md, "Logs".

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace courier {

/// courier's logger. Made on first use: the `courier` logger the app registered, if any;
/// else a copy of spdlog's default logger (its sinks, pattern and level) named `courier`,
/// registered. Its level is then the first of $COURIER_LOG_LEVEL, $SPDLOG_LEVEL (its
/// `courier=` entry, else its bare level) and NodeOptions::log_level that is set.
spdlog::logger& log();

/// From now on courier logs through `logger` (its sinks, level and pattern; its name is
/// the app's choice). The previous logger stays alive, as a thread may be writing to it.
void set_logger(std::shared_ptr<spdlog::logger> logger);

/// The level that `text` names (trace, debug, info, warn, error, critical, off), or
/// nullopt when it names none: spdlog's own parser answers `off` to a typo.
std::optional<int> log_level_named(std::string_view text);

/// Sets courier's level to `level`, unless $COURIER_LOG_LEVEL or $SPDLOG_LEVEL chose one:
/// the operator's environment wins over the app's default (NodeOptions::log_level).
/// Returns false, changing nothing, when `level` names no level.
bool set_default_log_level(std::string_view level);

}  // namespace courier
