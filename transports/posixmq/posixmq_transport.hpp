#pragma once
/// @file
/// The posixmq: transport: frames over POSIX message queues (mq_overview(7)), one queue
/// per direction, set up through the rendezvous (src/rendezvous.hpp).
/// docs/transports/posixmq.md is its manual page.

#include <courier/transports/capabilities.hpp>
#include <courier/transports/endpoint.hpp>
#include <courier/transports/link.hpp>
#include <courier/transports/listener.hpp>
#include <courier/transports/transport.hpp>

#include <array>
#include <memory>
#include <string_view>

namespace courier {

struct PosixMqTransport {
    static constexpr std::string_view scheme = "posixmq";
    /// Its place in the default preference order, fastest first (lower is preferred).
    static constexpr int preference_rank = 20;

    /// Settings (`[transport.posixmq]`); the listener's values make the queues.
    static constexpr SettingSpec max_messages{
        "max_messages", SettingType::integer, 0, 0,
        "mq_maxmsg of each queue; 0 picks min(fs.mqueue.msg_max, 10)"};
    static constexpr SettingSpec message_size{
        "message_size", SettingType::size, 0, 0,
        "mq_msgsize of each queue; 0 picks min(fs.mqueue.msgsize_max, 64 KiB, a share of "
        "RLIMIT_MSGQUEUE); it can lower the pick, never raise it"};
    static constexpr std::array settings{max_messages, message_size};

    /// native_frame_limit is the mq_msgsize its queues are made with (see PosixMqLimits);
    /// larger frames are split by the shared fragmentation layer. `priorities`: a frame's
    /// priority is its messages' mq priority.
    static Capabilities capabilities() noexcept;
    /// Listens for connectors of `posixmq:/name`. Each link gets two queues named after
    /// /name (mode 0600), opened and mq_unlink'ed at once. Throws std::invalid_argument
    /// for a malformed name, std::system_error when the OS refuses.
    static std::unique_ptr<Listener> listen(const Endpoint& endpoint,
                                            const TransportOptions& options);
    /// Connects through the rendezvous and takes the queue descriptors the listener made.
    static std::unique_ptr<Link> connect(const Endpoint& endpoint, const TransportOptions& options);
    /// `posixmq:/<tag>`.
    static Endpoint default_endpoint(const EndpointHint& hint) {
        std::string name = "/";  // built in two steps: GCC 12 misreads "/" + tag (-Wrestrict)
        name += hint.tag();
        return Endpoint{"posixmq", name};
    }
};

static_assert(Transport<PosixMqTransport>);

/// The kernel's POSIX message queue limits (per IPC namespace, read from
/// /proc/sys/fs/mqueue/ and RLIMIT_MSGQUEUE) and the queue size courier picks within them.
struct PosixMqLimits {
    long msgsize_max = 8192;  ///< /proc/sys/fs/mqueue/msgsize_max
    long msg_max = 10;        ///< /proc/sys/fs/mqueue/msg_max
    long queues_max = 256;    ///< /proc/sys/fs/mqueue/queues_max
    /// RLIMIT_MSGQUEUE: bytes all of a user's queues may hold; -1 for unlimited.
    long long bytes_max = 819200;
    long msgsize = 8192;  ///< the mq_msgsize of courier's queues
    long maxmsg = 10;     ///< the mq_maxmsg of courier's queues

    /// Read once, on first use, so every link of a process agrees with capabilities().
    static const PosixMqLimits& system();
    /// "mq_msgsize 8192, mq_maxmsg 10 (fs.mqueue.msgsize_max 8192, ...)" for messages.
    std::string describe() const;
};

}  // namespace courier
