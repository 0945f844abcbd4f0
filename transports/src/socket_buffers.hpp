#pragma once
/// @file
/// SO_SNDBUF and SO_RCVBUF of stream sockets, as the `send_buffer` and `receive_buffer`
/// settings of unix: and tcp: ask. Private to courier_transports.
///
/// The kernel doubles a requested size (half is its bookkeeping) and caps the request at
/// net.core.wmem_max / rmem_max, silently. So the value is read back after setting it,
/// and a request the kernel cut is logged at warn with the sysctl that limits it.

#include <courier/transports/setting.hpp>
#include <courier/transports/transport_options.hpp>

#include <cstddef>
#include <string>

namespace courier::detail {

inline constexpr SettingSpec send_buffer_setting{
    "send_buffer", SettingType::size, 0, 0,
    "SO_SNDBUF of each socket; 0 keeps the kernel's default (capped at net.core.wmem_max)"};
inline constexpr SettingSpec receive_buffer_setting{
    "receive_buffer", SettingType::size, 0, 0,
    "SO_RCVBUF of each socket; 0 keeps the kernel's default (capped at net.core.rmem_max)"};

/// Applies the two settings of `options` to `fd` (a size of 0 leaves that buffer
/// alone) and reads back what the kernel made of them. When `warn_if_capped`, a request
/// the kernel cut logs a warning naming `context`, the sizes and the sysctl to raise.
/// Throws std::system_error if setsockopt/getsockopt fail.
void apply_socket_buffers(int fd, const TransportOptions& options, const std::string& context,
                          bool warn_if_capped);

}  // namespace courier::detail
