#include "sysv/sysv_transport.hpp"

#include "src/rendezvous.hpp"
#include "sysv/sysv_link.hpp"
#include "sysv/sysv_queue.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace courier {

namespace {

/// The setup frame: a magic, then the ids of the queue to the connector and of the
/// queue to the listener (same host, so native byte order).
constexpr std::array<char, 8> setup_magic{'c', 's', 'y', 's', 'v', '0', '0', '1'};
constexpr std::size_t setup_size = setup_magic.size() + 2 * sizeof(std::int32_t);
/// Room left for the name in an abstract socket address after the rendezvous prefix.
constexpr std::size_t max_name_length = 80;

void validate(const Endpoint& endpoint) {
    const std::string& name = endpoint.address;
    auto fail = [&](const std::string& why) {
        throw std::invalid_argument("invalid sysv endpoint \"" + endpoint.to_string() +
                                    "\": " + why);
    };
    if (name.empty()) fail("the name is empty");
    if (name.size() > max_name_length) {
        fail("the name is longer than " + std::to_string(max_name_length) + " bytes");
    }
    const bool ok = std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-' || c == '/';
    });
    if (!ok) fail("a name may hold only letters, digits, '.', '_', '-' and '/'");
}

std::string describe(const Endpoint& endpoint, int in, int out, const std::string& control) {
    return endpoint.to_string() + " (queues in " + std::to_string(in) + ", out " +
           std::to_string(out) + "; control " + control + ")";
}

}  // namespace

Capabilities SysvTransport::capabilities() noexcept {
    const auto& limits = detail::sysv_limits();
    return Capabilities{.native_frame_limit = std::min(limits.msgmax, limits.msgmnb),
                        .fd_passing = false,
                        .priorities = true,
                        .cross_host = false,
                        // input_pending() reads what the waiter thread handed over.
                        .memory_polling = true,
                        .handover_thread = true};
}

std::unique_ptr<Listener> SysvTransport::listen(const Endpoint& endpoint,
                                                const TransportOptions& options) {
    validate(endpoint);
    const std::size_t queue_bytes = options.size(max_bytes);
    if (queue_bytes > 0) {
        // Whether the kernel takes this size depends on limits and privileges that only
        // trying tells; refusing it now beats failing every link later.
        detail::set_sysv_queue_bytes(detail::SysvQueue::create().id(), queue_bytes);
    }
    return std::make_unique<detail::RendezvousListener>(
        endpoint, options,
        [endpoint, options, queue_bytes](detail::ControlChannel control) -> std::unique_ptr<Link> {
            // The guards remove both queues if anything below throws.
            auto to_connector = detail::SysvQueue::create();
            auto to_listener = detail::SysvQueue::create();
            // Owners, for whoever finds the queues after both ends died (orphans.hpp): we
            // send on one and receive on the other; the connector stamps the other halves.
            to_connector.stamp_sender();
            to_listener.stamp_receiver();
            if (queue_bytes > 0) {
                detail::set_sysv_queue_bytes(to_connector.id(), queue_bytes);
                detail::set_sysv_queue_bytes(to_listener.id(), queue_bytes);
            }
            std::array<std::byte, setup_size> setup{};
            const std::int32_t ids[2] = {to_connector.id(), to_listener.id()};
            std::memcpy(setup.data(), setup_magic.data(), setup_magic.size());
            std::memcpy(setup.data() + setup_magic.size(), ids, sizeof(ids));
            control.send_setup(setup);
            auto description =
                describe(endpoint, to_listener.id(), to_connector.id(), control.peer());
            return std::make_unique<detail::SysvLink>(std::move(control), std::move(to_listener),
                                                      std::move(to_connector), options,
                                                      std::move(description));
        });
}

std::unique_ptr<Link> SysvTransport::connect(const Endpoint& endpoint,
                                             const TransportOptions& options) {
    validate(endpoint);
    auto connection = detail::rendezvous_connect(endpoint, options);
    const auto& bytes = connection.setup.bytes;
    if (bytes.size() != setup_size ||
        std::memcmp(bytes.data(), setup_magic.data(), setup_magic.size()) != 0) {
        // The listener sees our control connection end and removes the queues.
        throw LinkError(endpoint.to_string() + ": malformed sysv setup frame (" +
                        std::to_string(bytes.size()) + " bytes)");
    }
    std::int32_t ids[2] = {};
    std::memcpy(ids, bytes.data() + setup_magic.size(), sizeof(ids));
    auto description = describe(endpoint, ids[0], ids[1], connection.control.peer());
    auto in = detail::SysvQueue::adopt(ids[0]);
    auto out = detail::SysvQueue::adopt(ids[1]);
    // Our halves of the owners' record: each queue now names both ends.
    in.stamp_receiver();
    out.stamp_sender();
    return std::make_unique<detail::SysvLink>(std::move(connection.control), std::move(in),
                                              std::move(out), options, std::move(description));
}

}  // namespace courier
