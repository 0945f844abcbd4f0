#include <courier/posix_call.hpp>

#include <string_view>

namespace courier {

namespace {

/// "transports/unix/unix_listener.cpp" -> "unix_listener.cpp": enough to find the site,
/// short enough to read in a log line.
std::string_view file_name(const char* path) {
    std::string_view name(path);
    if (auto slash = name.rfind('/'); slash != std::string_view::npos)
        name.remove_prefix(slash + 1);
    return name;
}

}  // namespace

std::system_error system_error_from(const SysResult& result, const std::string& context) {
    // std::system_error appends ": <strerror>" itself, giving
    // "<context>: <call> failed at <file>:<line>: <strerror>".
    std::string what;
    if (!context.empty()) what += context + ": ";
    std::string_view call = result.call;
    if (call.starts_with("::")) call.remove_prefix(2);  // COURIER_SYSCALL(::bind, ...)
    what += call;
    what += " failed at ";
    what += file_name(result.where.file_name());
    what += ':';
    what += std::to_string(result.where.line());
    return std::system_error(result.error, std::generic_category(), what);
}

long SysResult::value_or_throw() const {
    if (!ok()) throw system_error_from(*this);
    return value;
}

long SysResult::value_or_throw(const std::string& context) const {
    if (!ok()) throw system_error_from(*this, context);
    return value;
}

}  // namespace courier
