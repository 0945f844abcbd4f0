#include <courier/log.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <vector>

namespace courier {

namespace {

std::mutex loggers_mutex;
/// Every logger courier has used, kept alive: another thread may still hold a reference
/// that log() returned before set_logger replaced it. Grows only with set_logger calls.
std::vector<std::shared_ptr<spdlog::logger>> loggers_used;
std::atomic<spdlog::logger*> current{nullptr};

/// The level the environment names for courier, if it names one: $COURIER_LOG_LEVEL,
/// else $SPDLOG_LEVEL in spdlog's own syntax ("debug" or "courier=debug,other=warn",
/// where a `courier=` entry wins over the bare level).
std::optional<int> environment_level() {
    if (const char* text = std::getenv("COURIER_LOG_LEVEL"); text && *text)
        if (auto level = log_level_named(text)) return level;
    const char* text = std::getenv("SPDLOG_LEVEL");
    if (!text) return std::nullopt;
    std::optional<int> bare;
    std::string_view rest(text);
    while (!rest.empty()) {
        auto comma = rest.find(',');
        auto entry = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        auto equals = entry.find('=');
        if (equals == std::string_view::npos) {
            bare = log_level_named(entry);
        } else if (entry.substr(0, equals) == "courier") {
            if (auto level = log_level_named(entry.substr(equals + 1))) return level;
        }
    }
    return bare;
}

void apply_environment(spdlog::logger& logger) {
    if (auto level = environment_level())
        logger.set_level(static_cast<spdlog::level::level_enum>(*level));
}

spdlog::logger& use(std::shared_ptr<spdlog::logger> logger) {
    auto& used = *logger;
    loggers_used.push_back(std::move(logger));
    current.store(&used, std::memory_order_release);
    return used;
}

}  // namespace

spdlog::logger& log() {
    if (auto* logger = current.load(std::memory_order_acquire)) return *logger;
    std::lock_guard lock(loggers_mutex);
    if (auto* logger = current.load(std::memory_order_acquire)) return *logger;
    auto logger = spdlog::get("courier");
    if (!logger) {
        logger = spdlog::default_logger()->clone("courier");
        spdlog::register_logger(logger);
    }
    apply_environment(*logger);
    if (const char* text = std::getenv("COURIER_LOG_LEVEL");
        text && *text && !log_level_named(text))
        logger->warn(
            "courier: $COURIER_LOG_LEVEL is '{}', which names no level (trace, debug, "
            "info, warn, error, critical, off): ignored",
            text);
    return use(std::move(logger));
}

void set_logger(std::shared_ptr<spdlog::logger> logger) {
    if (!logger) return;
    std::lock_guard lock(loggers_mutex);
    apply_environment(*logger);
    use(std::move(logger));
}

std::optional<int> log_level_named(std::string_view text) {
    auto level = spdlog::level::from_str(std::string(text));
    if (level == spdlog::level::off && text != "off") return std::nullopt;
    return static_cast<int>(level);
}

bool set_default_log_level(std::string_view text) {
    auto level = log_level_named(text);
    if (!level) return false;
    if (auto chosen = environment_level()) level = chosen;
    log().set_level(static_cast<spdlog::level::level_enum>(*level));
    return true;
}

}  // namespace courier
