// Fuzzes the config loader: Config::parse (framework/src/config.cpp and config_reader.cpp),
// toml++'s parser under it (compiled into courier and instrumented with it by the fuzz
// preset: COURIER_TOML_HEADER_ONLY) and the guard between them (toml_guard.hpp).
//
// Input: the text of a config file.
// What must hold: Config::parse returns a config or throws ConfigError, never aborts, never
// crashes, never anything else; and a config it returns, written as TOML (to_toml, what a
// node hands its children), reads back, and writes the same text again.

#include "config_text.hpp"

#include <courier/framework/config.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void broken(const char* what, const std::string& detail) {
    std::fprintf(stderr, "config_fuzz: %s: %s\n", what, detail.c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    courier::Config config;
    try {
        config = courier::Config::parse(text, "fuzz.toml");
    } catch (const courier::ConfigError&) {
        return 0;
    } catch (const std::exception& e) {
        broken("Config::parse threw something other than ConfigError", e.what());
    }
    const std::string written = courier::detail::to_toml(config);
    try {
        const std::string again = courier::detail::to_toml(courier::Config::parse(written, "copy"));
        if (again != written) broken("a config written as TOML reads back as another", written);
    } catch (const std::exception& e) {
        broken("a config written as TOML does not read back",
               std::string(e.what()) + "\n" + written);
    }
    return 0;
}
