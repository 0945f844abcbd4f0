#pragma once
/// @file
/// The fifo: transport: frames over a pair of named pipes (mkfifo), one per direction,
/// set up through the rendezvous (src/rendezvous.hpp). docs/transports/fifo.md is its
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

struct FifoTransport {
    static constexpr std::string_view scheme = "fifo";
    /// Its place in the default preference order, fastest first (lower is preferred).
    static constexpr int preference_rank = 50;
    /// pipe_buffer: the capacity of the link\'s pipes (src/pipe_buffer.hpp).
    static constexpr std::array settings{detail::pipe_buffer_setting};

    /// A byte stream: no native frame limit; pipes carry no descriptors.
    static Capabilities capabilities() noexcept {
        return Capabilities{.fd_passing = false, .priorities = false, .cross_host = false};
    }
    /// Listens for connectors of `fifo:/path`. Each link gets two FIFOs made next to
    /// /path (mode 0600), opened and unlinked at once. Throws std::invalid_argument for a
    /// malformed path, std::system_error when its directory is unusable.
    static std::unique_ptr<Listener> listen(const Endpoint& endpoint,
                                            const TransportOptions& options);
    /// Connects through the rendezvous and takes the FIFO ends the listener made.
    static std::unique_ptr<Link> connect(const Endpoint& endpoint, const TransportOptions& options);
    /// `fifo:<runtime dir>/<tag>`: the FIFOs of its links are made (and unlinked) there.
    static Endpoint default_endpoint(const EndpointHint& hint) {
        return Endpoint{"fifo", (hint.runtime_dir / hint.tag()).string()};
    }
};

static_assert(Transport<FifoTransport>);

}  // namespace courier
