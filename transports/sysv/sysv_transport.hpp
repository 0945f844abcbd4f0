#pragma once
/// @file
/// The sysv: transport: frames over System V message queues (msgget/msgsnd/msgrcv),
/// two private queues per link set up through the rendezvous. docs/transports/sysv.md
/// is its manual page.

#include <courier/transports/capabilities.hpp>
#include <courier/transports/endpoint.hpp>
#include <courier/transports/link.hpp>
#include <courier/transports/listener.hpp>
#include <courier/transports/transport.hpp>

#include <array>
#include <memory>
#include <string_view>

namespace courier {

struct SysvTransport {
    static constexpr std::string_view scheme = "sysv";
    /// Its place in the default preference order, fastest first (lower is preferred).
    static constexpr int preference_rank = 30;

    /// Settings (`[transport.sysv]`); the listener's value makes the queues.
    static constexpr SettingSpec max_bytes{
        "max_bytes", SettingType::size, 0, 0,
        "msg_qbytes of each queue; 0 keeps kernel.msgmnb; more than msgmnb needs "
        "CAP_SYS_RESOURCE"};
    static constexpr std::array settings{max_bytes};

    /// native_frame_limit is the kernel's msgmax (capped by msgmnb), read once from
    /// /proc/sys/kernel; larger frames go through the shared fragmentation layer. A link
    /// reports min(msgmax, its queues' msg_qbytes). Priorities: lanes by message type.
    static Capabilities capabilities() noexcept;
    /// Listens on the rendezvous of `sysv:name`; each accepted link gets two fresh
    /// IPC_PRIVATE queues (0600) of `max_bytes` each. A `max_bytes` the kernel refuses
    /// (above kernel.msgmnb without CAP_SYS_RESOURCE) is refused here, at once.
    /// Throws std::invalid_argument / std::system_error.
    static std::unique_ptr<Listener> listen(const Endpoint& endpoint,
                                            const TransportOptions& options);
    /// Connects to the rendezvous and takes the queue ids from the setup frame.
    /// Throws std::invalid_argument / std::system_error / LinkError.
    static std::unique_ptr<Link> connect(const Endpoint& endpoint, const TransportOptions& options);
    /// `sysv:<tag>`.
    static Endpoint default_endpoint(const EndpointHint& hint) {
        return Endpoint{"sysv", hint.tag()};
    }
};

static_assert(Transport<SysvTransport>);

}  // namespace courier
