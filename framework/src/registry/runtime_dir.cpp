#include <courier/framework/runtime_dir.hpp>
#include <courier/log.hpp>

#include <courier/posix_call.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <string>
#include <system_error>

namespace courier {

namespace {

[[noreturn]] void fail(int error, const std::string& what) {
    throw std::system_error(error, std::generic_category(), what);
}

constexpr const char* what_to_do =
    "set XDG_RUNTIME_DIR or COURIER_RUNTIME_DIR to a directory of yours";

/// Why `dir` cannot be our runtime directory as it stands; empty when it can (or does
/// not exist yet).
std::string untrusted(const std::filesystem::path& dir) {
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) return {};
    if (!S_ISDIR(st.st_mode)) return dir.string() + " is not a directory";
    if (st.st_uid != ::geteuid())
        return dir.string() + " belongs to uid " + std::to_string(st.st_uid) +
               ", not to you (uid " + std::to_string(::geteuid()) + ")";
    return {};
}

/// The per-user place used when /tmp/courier-<uid> is taken: under the home directory,
/// which nobody else can write to.
std::filesystem::path fallback_runtime_dir() {
    const char* home = std::getenv("HOME");
    if (!home || *home != '/') return {};
    return std::filesystem::path(home) / ".cache" / "courier" / "run";
}

}  // namespace

std::filesystem::path default_runtime_dir() {
    if (const char* dir = std::getenv("COURIER_RUNTIME_DIR"); dir && *dir) return dir;
    if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && *xdg)
        return std::filesystem::path(xdg) / "courier";
    std::filesystem::path shared = "/tmp/courier-" + std::to_string(::geteuid());
    // Anyone may create it first in /tmp: a squatted one is refused, and every process of
    // ours looks in the same per-user place instead.
    const std::string why = untrusted(shared);
    if (why.empty()) return shared;
    auto fallback = fallback_runtime_dir();
    if (fallback.empty()) return shared;  // ensure_runtime_dir refuses it, saying why
    static std::once_flag warned;
    std::call_once(warned, [&] {
        log().warn(
            "{}: not using it as courier's runtime directory; using {} instead. "
            "Remove it (someone else made it), or {}",
            why, fallback.string(), what_to_do);
    });
    return fallback;
}

void ensure_runtime_dir(const std::filesystem::path& dir) {
    if (dir.empty()) fail(EINVAL, "runtime directory: empty path");
    // Parents are ordinary directories (e.g. /run/user/1000); only the last is ours.
    if (dir.has_parent_path()) {
        std::error_code ec;
        std::filesystem::create_directories(dir.parent_path(), ec);
        if (ec) fail(ec.value(), "cannot create " + dir.parent_path().string());
    }
    auto made = COURIER_SYSCALL(::mkdir, dir.c_str(), mode_t{0700});
    if (!made.ok() && made.error != EEXIST)
        fail(made.error, "cannot create runtime directory " + dir.string());

    struct stat st {};
    auto got = COURIER_SYSCALL(::lstat, dir.c_str(), &st);
    if (!got.ok()) fail(got.error, "cannot stat runtime directory " + dir.string());
    if (!S_ISDIR(st.st_mode))
        fail(ENOTDIR, "runtime directory " + dir.string() + " is not a directory; remove it, or " +
                          what_to_do);
    if (st.st_uid != ::geteuid())
        fail(EPERM, "runtime directory " + dir.string() + " belongs to uid " +
                        std::to_string(st.st_uid) + ", not to us (uid " +
                        std::to_string(::geteuid()) + "); remove it, or " + what_to_do);
    if ((st.st_mode & 07777) != 0700) {
        auto mode = COURIER_SYSCALL(::chmod, dir.c_str(), mode_t{0700});
        if (!mode.ok()) fail(mode.error, "cannot make runtime directory " + dir.string() + " 0700");
    }
}

std::filesystem::path registry_socket_path(const std::filesystem::path& dir) {
    return dir / "registry.sock";
}

std::filesystem::path registry_lock_path(const std::filesystem::path& dir) {
    return dir / "courierd.lock";
}

}  // namespace courier
