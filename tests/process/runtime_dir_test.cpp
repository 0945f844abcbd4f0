// Where the registry lives: the runtime directory, its default and its permissions.

#include "process_support.hpp"

#include <courier/framework/runtime_dir.hpp>

#include <catch2/catch.hpp>

#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>

namespace {

namespace fs = std::filesystem;
using courier::test::TempRuntimeDir;

/// Sets or unsets an environment variable for one scope.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    const char* name_;
    std::optional<std::string> old_;
};

mode_t mode_of(const fs::path& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

}  // namespace

TEST_CASE(
    "the runtime directory is COURIER_RUNTIME_DIR, else XDG_RUNTIME_DIR/courier, else "
    "/tmp/courier-UID",
    "[registry][runtime-dir]") {
    {
        ScopedEnv courier("COURIER_RUNTIME_DIR", "/somewhere/courier-here");
        ScopedEnv xdg("XDG_RUNTIME_DIR", "/run/user/4242");
        CHECK(courier::default_runtime_dir() == "/somewhere/courier-here");
    }
    {
        ScopedEnv courier("COURIER_RUNTIME_DIR", nullptr);
        ScopedEnv xdg("XDG_RUNTIME_DIR", "/run/user/4242");
        CHECK(courier::default_runtime_dir() == "/run/user/4242/courier");
    }
    {
        ScopedEnv courier("COURIER_RUNTIME_DIR", nullptr);
        ScopedEnv xdg("XDG_RUNTIME_DIR", nullptr);
        CHECK(courier::default_runtime_dir() == "/tmp/courier-" + std::to_string(::geteuid()));
    }
    CHECK(courier::registry_socket_path("/r") == "/r/registry.sock");
    CHECK(courier::registry_lock_path("/r") == "/r/courierd.lock");
}

TEST_CASE("ensure_runtime_dir creates an owner-only directory and tightens a loose one",
          "[registry][runtime-dir]") {
    TempRuntimeDir base;
    const auto dir = base.path() / "parent" / "courier";
    courier::ensure_runtime_dir(dir);
    CHECK(fs::is_directory(dir));
    CHECK(mode_of(dir) == 0700);

    REQUIRE(::chmod(dir.c_str(), 0755) == 0);
    courier::ensure_runtime_dir(dir);
    CHECK(mode_of(dir) == 0700);
}

TEST_CASE("ensure_runtime_dir refuses a path that is not a directory", "[registry][runtime-dir]") {
    TempRuntimeDir base;
    const auto file = base.path() / "file";
    std::ofstream(file) << "x";
    CHECK_THROWS_AS(courier::ensure_runtime_dir(file), std::system_error);
    const auto link = base.path() / "link";
    fs::create_directory_symlink(base.path(), link);
    CHECK_THROWS_AS(courier::ensure_runtime_dir(link), std::system_error);
}

TEST_CASE("ensure_runtime_dir refuses a directory owned by another user",
          "[registry][runtime-dir]") {
    if (::geteuid() != 0) {
        WARN("needs root to create a directory owned by another user; skipped");
        return;
    }
    TempRuntimeDir base;
    const auto dir = base.path() / "theirs";
    REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
    REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);
    try {
        courier::ensure_runtime_dir(dir);
        FAIL("accepted a directory owned by uid 65534");
    } catch (const std::system_error& e) {
        CHECK(std::string(e.what()).find("belongs to uid 65534") != std::string::npos);
    }
}

TEST_CASE(
    "a /tmp/courier-UID that another user made is refused, and that user's processes "
    "all use ~/.cache/courier/run instead",
    "[registry][runtime-dir][security]") {
    if (::geteuid() != 0) {
        WARN("needs root to act as two users; skipped");
        return;
    }
    constexpr uid_t nobody = 65534;
    const fs::path squatted = "/tmp/courier-" + std::to_string(nobody);
    struct stat existing {};
    if (::lstat(squatted.c_str(), &existing) == 0 && existing.st_uid == nobody) {
        WARN(squatted << " exists and belongs to uid 65534: not touched; skipped");
        return;
    }
    const bool made = ::mkdir(squatted.c_str(), 0755) == 0;  // root's: as an attacker would
    TempRuntimeDir base;
    const auto home = base.path() / "home";
    REQUIRE(::mkdir(home.c_str(), 0700) == 0);
    REQUIRE(::chown(home.c_str(), nobody, nobody) == 0);
    REQUIRE(::chmod(base.path().c_str(), 0711) == 0);
    auto child = courier::test::Child::fork([&](courier::test::ChildChannel&) {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(nobody, nobody, nobody) != 0 ||
            ::setresuid(nobody, nobody, nobody) != 0)
            return 10;
        ::unsetenv("COURIER_RUNTIME_DIR");
        ::unsetenv("XDG_RUNTIME_DIR");
        ::setenv("HOME", home.c_str(), 1);
        const auto dir = courier::default_runtime_dir();
        if (dir != home / ".cache" / "courier" / "run") return 11;
        if (courier::default_runtime_dir() != dir) return 12;  // every process the same
        courier::ensure_runtime_dir(dir);
        struct stat st {};
        if (::lstat(dir.c_str(), &st) != 0 || st.st_uid != nobody || (st.st_mode & 07777) != 0700)
            return 13;
        try {
            courier::ensure_runtime_dir(squatted);
            return 14;
        } catch (const std::system_error& e) {
            const std::string what = e.what();
            if (what.find("belongs to uid 0") == std::string::npos ||
                what.find("COURIER_RUNTIME_DIR") == std::string::npos)
                return 15;
        }
        return 0;
    });
    const auto status = child.wait_exit(std::chrono::seconds(10));
    if (made) ::rmdir(squatted.c_str());
    fs::remove_all(home);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
}
