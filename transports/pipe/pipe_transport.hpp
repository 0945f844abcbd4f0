#pragma once
/// @file
/// The pipe: transport: frames over two anonymous pipes between a process and a child it
/// spawns, one pipe per direction. The spawner makes the pipes (child_link); the child
/// inherits its two ends and adopts them with connect("pipe:<read-fd>,<write-fd>").
/// Nothing listens: there is no name to connect to. docs/transports/pipe.md is its
/// manual page.

#include "src/pipe_buffer.hpp"

#include <courier/transports/capabilities.hpp>
#include <courier/transports/endpoint.hpp>
#include <courier/transports/link.hpp>
#include <courier/transports/listener.hpp>
#include <courier/transports/transport.hpp>

#include <array>
#include <memory>
#include <string_view>

namespace courier {

struct PipeTransport {
    static constexpr std::string_view scheme = "pipe";
    /// Its place in the default preference order, fastest first (lower is preferred).
    static constexpr int preference_rank = 40;
    /// pipe_buffer: the capacity of the link\'s pipes (src/pipe_buffer.hpp).
    static constexpr std::array settings{detail::pipe_buffer_setting};

    /// A byte stream: no native frame limit; pipes carry no descriptors; one host.
    static Capabilities capabilities() noexcept {
        return Capabilities{.fd_passing = false, .priorities = false, .cross_host = false};
    }
    /// Always throws std::invalid_argument: a pipe link is made by spawning a child
    /// (child_link), not by connecting to a name.
    static std::unique_ptr<Listener> listen(const Endpoint& endpoint,
                                            const TransportOptions& options);
    /// Adopts the two inherited descriptors `pipe:<read-fd>,<write-fd>` names: both must
    /// be open pipe ends, the first readable, the second writable, or nothing is taken
    /// (std::invalid_argument for a malformed address or a descriptor that is not the
    /// right pipe end, std::system_error for one that is not open). Once adopted they
    /// are owned by the link, non-blocking and close-on-exec (a grandchild does not
    /// inherit them).
    static std::unique_ptr<Link> connect(const Endpoint& endpoint, const TransportOptions& options);
    /// Makes the two pipes of a link to a child about to be spawned. Returns our end, the
    /// child's two descriptors (read end first) and the endpoint that names them in the
    /// child: at `child_fd_base` and the next number when the spawner places them there
    /// (base >= 0), else where they are now.
    static ChildLink child_link(const TransportOptions& options, int child_fd_base);
};

static_assert(Transport<PipeTransport>);
static_assert(LinksChildren<PipeTransport>);

}  // namespace courier
