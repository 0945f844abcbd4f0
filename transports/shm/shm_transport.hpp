#pragma once
/// @file
/// The shm: transport: frames through a shared-memory segment with one single-producer
/// single-consumer ring per direction, set up through the rendezvous.
/// docs/transports/shm.md is its manual page.

#include <courier/transports/capabilities.hpp>
#include <courier/transports/endpoint.hpp>
#include <courier/transports/link.hpp>
#include <courier/transports/listener.hpp>
#include <courier/transports/transport.hpp>

#include <array>
#include <memory>
#include <string_view>

namespace courier {

struct ShmTransport {
    static constexpr std::string_view scheme = "shm";
    /// Its place in the default preference order, fastest first (lower is preferred).
    static constexpr int preference_rank = 10;

    /// Settings (`[transport.shm]`), read from TransportOptions.
    static constexpr SettingSpec ring_size{
        "ring_size", SettingType::size, std::int64_t{1} << 20, 1,
        "bytes of each direction's ring (rounded up to a power of two, at least 256 KiB); "
        "the listener's value holds"};
    static constexpr SettingSpec spin{
        "spin_us", SettingType::duration, 20, 0,
        "how long a writer facing a full ring spins before it sleeps (microseconds)"};
    static constexpr std::array settings{ring_size, spin};

    /// native_frame_limit: one ring record (256 KiB − 8); larger frames go through the
    /// shared fragmentation layer.
    static Capabilities capabilities() noexcept;
    /// Listens on the rendezvous of `shm:/name`, after removing segments of `/name` left
    /// by dead processes. Each accepted link gets a fresh segment `/name.<pid>.<n>` (0600)
    /// of 2 × `ring_size`. Throws std::invalid_argument /
    /// std::system_error.
    static std::unique_ptr<Listener> listen(const Endpoint& endpoint,
                                            const TransportOptions& options);
    /// Connects to the rendezvous, maps the segment named in the setup frame and removes
    /// its name. Throws std::invalid_argument / std::system_error / LinkError.
    static std::unique_ptr<Link> connect(const Endpoint& endpoint, const TransportOptions& options);
    /// `shm:/<tag>`.
    static Endpoint default_endpoint(const EndpointHint& hint) {
        std::string name = "/";  // built in two steps: GCC 12 misreads "/" + tag (-Wrestrict)
        name += hint.tag();
        return Endpoint{"shm", name};
    }
};

static_assert(Transport<ShmTransport>);

}  // namespace courier
