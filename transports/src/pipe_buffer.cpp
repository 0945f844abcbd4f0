#include "src/pipe_buffer.hpp"

#include <courier/log.hpp>
#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <climits>
#include <fstream>
#include <system_error>

namespace courier::detail {

namespace {

std::string pipe_max_size() {
    std::ifstream in("/proc/sys/fs/pipe-max-size");
    std::string value;
    return in >> value ? value : std::string("?");
}

}  // namespace

void apply_pipe_buffer(int fd, const TransportOptions& options, const std::string& context) {
    const std::size_t requested = options.size(pipe_buffer_setting);
    if (requested == 0) return;
    // F_SETPIPE_SZ takes an int; the kernel refuses anything above 2 GiB anyway.
    const auto asked = static_cast<int>(std::min<std::size_t>(requested, INT_MAX));
    const auto set = COURIER_SYSCALL(::fcntl, fd, F_SETPIPE_SZ, asked);
    if (set.ok()) return;
    const auto kept = COURIER_SYSCALL(::fcntl, fd, F_GETPIPE_SZ);
    log().warn(
        "{}: pipe_buffer = {} asked, but the kernel refused it ({}); the pipe keeps {} bytes. "
        "An unprivileged process may ask for at most fs.pipe-max-size = {} bytes, and no more "
        "once its user holds fs.pipe-user-pages-hard pages of pipes",
        context, requested, std::error_code(set.error, std::generic_category()).message(),
        kept.ok() ? std::to_string(kept.value) : std::string("?"), pipe_max_size());
}

}  // namespace courier::detail
