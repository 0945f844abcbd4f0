#include "registry/spawn.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

// Set by framework/CMakeLists.txt: where courierd is installed, absolute and relative to
// the library directory, and whether this library is a shared one.
#ifndef COURIER_INSTALL_FULL_BINDIR
#error "COURIER_INSTALL_FULL_BINDIR must be defined by the build"
#endif
#ifndef COURIER_LIBDIR_TO_BINDIR
#error "COURIER_LIBDIR_TO_BINDIR must be defined by the build"
#endif

namespace courier::registry {

namespace {

bool is_executable(const std::filesystem::path& path) {
    std::error_code ec;
    return !path.empty() && ::access(path.c_str(), X_OK) == 0 &&
           std::filesystem::is_regular_file(path, ec);
}

/// `courierd` in the bindir that belongs to the libdir this library was loaded from: an
/// application built outside the install prefix, linked to the installed shared library,
/// finds the courierd installed with it. Empty when the library is static (dladdr would
/// name the executable, whose directory is tried already).
std::filesystem::path beside_library() {
#ifdef COURIER_FRAMEWORK_SHARED
    // An object of this library: dladdr on its address names the file it was loaded from.
    static const char library_anchor = 0;
    Dl_info info{};
    if (::dladdr(&library_anchor, &info) == 0 || info.dli_fname == nullptr) return {};
    std::filesystem::path library(info.dli_fname);
    if (library.is_relative() || !library.has_parent_path()) return {};
    return library.parent_path() / COURIER_LIBDIR_TO_BINDIR / "courierd";
#else
    return {};
#endif
}

}  // namespace

std::filesystem::path find_courierd(const std::filesystem::path& configured) {
    if (!configured.empty()) return configured;
    if (const char* env = std::getenv("COURIER_COURIERD"); env && *env) return env;
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        auto beside = self.parent_path() / "courierd";
        if (is_executable(beside)) return beside;
    }
    if (auto installed = beside_library(); is_executable(installed)) return installed;
    // A static library cannot tell where it was installed from: the prefix it was
    // configured for is the best guess left before PATH.
    if (auto configured_bindir = std::filesystem::path(COURIER_INSTALL_FULL_BINDIR) / "courierd";
        is_executable(configured_bindir))
        return configured_bindir;
    if (const char* path = std::getenv("PATH"); path && *path) {
        std::string_view rest(path);
        while (!rest.empty()) {
            auto colon = rest.find(':');
            std::string_view entry = rest.substr(0, colon);
            rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
            if (entry.empty()) continue;
            auto candidate = std::filesystem::path(entry) / "courierd";
            if (is_executable(candidate)) return candidate;
        }
    }
    throw RegistryError(
        "cannot find courierd to start the courier registry: set RegistryOptions::courierd "
        "or $COURIER_COURIERD, install it next to this program, next to courier's shared "
        "libraries (<libdir>/" COURIER_LIBDIR_TO_BINDIR ") or in " COURIER_INSTALL_FULL_BINDIR
        ", or put it on PATH");
}

}  // namespace courier::registry
