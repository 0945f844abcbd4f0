#pragma once
/// @file
/// One wrapper for every syscall: retries EINTR, keeps errno and the call's name, and
/// turns failure into a value (`SysResult`) or, with `.value_or_throw()`, a
/// std::system_error whose message names the call and the site.

#include <cerrno>
#include <source_location>
#include <string>
#include <system_error>

namespace courier {

/// The outcome of one syscall.
struct SysResult {
    long value = 0;  ///< the return value (meaningful when ok())
    int error = 0;   ///< errno when the call failed, else 0
    const char* call = "";
    std::source_location where;

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
SysResult posix_call_at(std::source_location where, const char* name, Fn fn, Args... args) {
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
#define COURIER_SYSCALL(fn, ...) \
    ::courier::posix_call_at(std::source_location::current(), #fn, fn __VA_OPT__(, ) __VA_ARGS__)
