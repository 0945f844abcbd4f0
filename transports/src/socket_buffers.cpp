#include "src/socket_buffers.hpp"

#include <courier/log.hpp>
#include <courier/posix_call.hpp>

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <climits>
#include <fstream>

namespace courier::detail {

namespace {

struct Buffer {
    const SettingSpec& setting;
    int option;
    const char* option_name;
    const char* sysctl;  ///< the cap, under /proc/sys/
};

std::string read_sysctl(const char* name) {
    std::string path = std::string("/proc/sys/") + name;
    for (auto& c : path) {
        if (c == '.') c = '/';
    }
    std::ifstream in(path);
    std::string value;
    return in >> value ? value : std::string("?");
}

void apply(int fd, const Buffer& buffer, std::size_t requested, const std::string& context,
           bool warn_if_capped) {
    if (requested == 0) return;
    // The kernel takes an int; larger requests are capped by it anyway.
    const int value = static_cast<int>(std::min<std::size_t>(requested, INT_MAX / 2));
    COURIER_SYSCALL(::setsockopt, fd, SOL_SOCKET, buffer.option, &value, socklen_t{sizeof(value)})
        .value_or_throw(context + ": set " + buffer.option_name);
    int effective = 0;
    socklen_t length = sizeof(effective);
    COURIER_SYSCALL(::getsockopt, fd, SOL_SOCKET, buffer.option, &effective, &length)
        .value_or_throw(context + ": read " + buffer.option_name);
    const auto got = static_cast<std::size_t>(effective);
    // The kernel reports twice what was asked unless the request was cut.
    if (warn_if_capped && got / 2 < requested) {
        log().warn(
            "{}: {} = {} asked, but the kernel caps it at {} = {} ({} reads {}: the kernel "
            "doubles a request for its bookkeeping); raise the cap (sysctl -w {}={}) or ask "
            "for less",
            context, buffer.setting.name, requested, buffer.sysctl, read_sysctl(buffer.sysctl),
            buffer.option_name, got, buffer.sysctl, requested);
    }
}

}  // namespace

void apply_socket_buffers(int fd, const TransportOptions& options, const std::string& context,
                          bool warn_if_capped) {
    static const Buffer send{send_buffer_setting, SO_SNDBUF, "SO_SNDBUF", "net.core.wmem_max"};
    static const Buffer receive{receive_buffer_setting, SO_RCVBUF, "SO_RCVBUF",
                                "net.core.rmem_max"};
    apply(fd, send, options.size(send_buffer_setting), context, warn_if_capped);
    apply(fd, receive, options.size(receive_buffer_setting), context, warn_if_capped);
}

}  // namespace courier::detail
