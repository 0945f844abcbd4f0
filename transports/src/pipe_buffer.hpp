#pragma once
/// @file
/// The capacity of the pipes of pipe: and fifo: links, as their `pipe_buffer` setting
/// asks. Private to courier_transports.
///
/// A pipe holds 64 KiB by default. A larger one lets a writer run further ahead of a busy
/// reader before it sleeps, and each sleep and wake-up costs both sides microseconds: with
/// 256 KiB, 64-byte messages went a third to a half faster (docs/performance.md). The kernel
/// rounds a request up to a power of two pages; an unprivileged process may ask for at
/// most fs.pipe-max-size (1 MiB by default).

#include <courier/transports/setting.hpp>
#include <courier/transports/transport_options.hpp>

#include <string>

namespace courier::detail {

inline constexpr SettingSpec pipe_buffer_setting{
    "pipe_buffer", SettingType::size, std::int64_t{256} << 10, 0,
    "capacity of each pipe of a link (F_SETPIPE_SZ); 0 keeps the kernel's default (64 KiB)"};

/// Sets the capacity of the pipe `fd` is an end of to what `options` ask (0: leave it).
/// A request the kernel refuses (above fs.pipe-max-size, or the user's pipe pages spent)
/// is logged at warn naming `context`, and the pipe keeps its size: a link works with
/// any capacity.
void apply_pipe_buffer(int fd, const TransportOptions& options, const std::string& context);

}  // namespace courier::detail
