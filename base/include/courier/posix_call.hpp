#pragma once
/// @file
/// One wrapper for every syscall: retries EINTR, keeps errno and the call's name, and
/// turns failure into a value (`SysResult`) or, with `.value_or_throw()`, a
/// std::system_error whose message names the call and the site.

#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>
#include <version>

#if defined(__cpp_lib_source_location)
#include <source_location>
#endif

namespace courier {

#if defined(__cpp_lib_source_location)
using SourceLocation = std::source_location;
#else
/// Where std::source_location is missing: libstdc++'s needs __builtin_source_location,
/// which clang has only from 15 on (the fuzz preset builds with clang 14). The part of it
/// courier uses, from the builtins every such compiler has.
struct SourceLocation {
    static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                            std::uint_least32_t line = __builtin_LINE()) noexcept {
        return SourceLocation{file, line};
    }
    constexpr const char* file_name() const noexcept { return file_; }
    constexpr std::uint_least32_t line() const noexcept { return line_; }

    const char* file_ = "";
    std::uint_least32_t line_ = 0;
};
#endif

/// The outcome of one syscall.
struct SysResult {
    long value = 0;  ///< the return value (meaningful when ok())
    int error = 0;   ///< errno when the call failed, else 0
    const char* call = "";
    SourceLocation where;

    bool ok() const noexcept { return error == 0; }
    /// Throws std::system_error("<call> failed at <file>:<line>: <reason>") on failure.
    long value_or_throw() const;
    /// Same, with context added to the message ("bind unix:/path").
    long value_or_throw(const std::string& context) const;
};

/// Calls `fn(args...)`, retrying while it fails with EINTR. A call fails when it returns
/// -1 (the POSIX convention). Use through COURIER_SYSCALL, which records the call site.
/// Never use it for close(): on Linux the descriptor is gone even when close reports
/// EINTR, so a retry could close a descriptor another thread just opened (see Fd::reset).
template <class Fn, class... Args>
SysResult posix_call_at(SourceLocation where, const char* name, Fn fn, Args... args) {
    for (;;) {
        long result = static_cast<long>(fn(args...));
        if (result != -1) return SysResult{result, 0, name, where};
        if (errno != EINTR) return SysResult{result, errno, name, where};
    }
}

/// Builds the std::system_error that `value_or_throw` throws.
std::system_error system_error_from(const SysResult& result, const std::string& context = {});

}  // namespace courier

/// Calls a syscall through courier::posix_call with the call site recorded.
#define COURIER_SYSCALL(fn, ...)                                        \
    ::courier::posix_call_at(::courier::SourceLocation::current(), #fn, \
                             fn __VA_OPT__(, ) __VA_ARGS__)
