#include "heartbeats.hpp"

#include "node_core.hpp"

#include <courier/transports/heartbeat.hpp>
#include <courier/transports/transport.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace courier::detail {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string in_ms(std::chrono::microseconds span) {
    return std::to_string(duration_cast<milliseconds>(span).count()) + " ms";
}

}  // namespace

struct Heartbeats::Beat {
    std::weak_ptr<PeerLink> peer;
    milliseconds interval{0};
    std::chrono::microseconds timeout{0};
    std::vector<std::byte> frame;  ///< the Heartbeat, encoded once
    std::uint64_t sent_seen = 0;
    std::uint64_t received_seen = 0;
    Reactor::Clock::time_point heard;  ///< when received_seen last changed
};

void Heartbeats::watch(const std::shared_ptr<PeerLink>& peer) {
    const auto* transport = TransportRegistry::builtin().find(peer->transport);
    if (!transport || !transport->find_setting(heartbeat_interval_setting.name)) return;
    const TransportOptions options = node_.config().settings(peer->transport).options();
    const auto interval = options.duration(heartbeat_interval_setting);
    if (interval.count() <= 0) return;
    auto beat = std::make_shared<Beat>();
    beat->peer = peer;
    // The reactor's timers count whole milliseconds.
    beat->interval = std::max(milliseconds{1}, duration_cast<milliseconds>(interval));
    beat->timeout = options.duration(heartbeat_timeout_setting);
    // To the peer node's service: no actor gets it, any node knows the name.
    EnvelopeHeader header;
    header.recipient = node_service_name;
    beat->frame = encode_message(header, Heartbeat{});
    beat->heard = node_.reactor().now();
    node_.reactor().after(beat->interval, [this, beat] { look(beat); });
}

void Heartbeats::look(const std::shared_ptr<Beat>& beat) {
    auto peer = beat->peer.lock();
    if (!peer || peer->broken) return;  // dropped: the heartbeat ends with it
    const auto now = node_.reactor().now();
    const std::uint64_t received = peer->frames_received.load(std::memory_order_relaxed);
    if (received != beat->received_seen) {
        beat->received_seen = received;
        beat->heard = now;
    } else if (now - beat->heard >= beat->timeout) {
        node_.peers().drop(peer, "nothing arrived in " + in_ms(beat->timeout) +
                                     " (heartbeat_timeout_us): the peer hangs or is cut off");
        peer->link->abort();
        return;
    }
    if (peer->frames_sent.load(std::memory_order_relaxed) == beat->sent_seen) {
        try {
            if (peer->link->try_send(beat->frame))
                peer->frames_sent.fetch_add(1, std::memory_order_relaxed);
        } catch (const LinkError& e) {
            node_.peers().drop(peer, e.what());
            return;
        }
    }
    beat->sent_seen = peer->frames_sent.load(std::memory_order_relaxed);
    node_.reactor().after(beat->interval, [this, beat] { look(beat); });
}

}  // namespace courier::detail
