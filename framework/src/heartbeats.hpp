#pragma once
/// @file
/// The heartbeat a node keeps on the links of transports that declare heartbeat settings
/// (courier/transports/heartbeat.hpp; today tcp:). A peer that hangs (SIGSTOP) or a cut
/// network leaves a TCP connection open and silent for minutes; the heartbeat notices it
/// within heartbeat_timeout_us (plus one interval, when it looks).
///
/// Every interval, on the reactor thread, each such link is looked at:
/// - something arrived since the last look (any frame, heartbeats included): the peer
///   lives;
/// - nothing has arrived for the timeout: the link is dropped, as if it had broken
///   (requests over it fail, monitors of names behind it get Down with reason
///   link_broken), and aborted, so a sender blocked on it returns;
/// - this side sent nothing since the last look: a Heartbeat frame goes, if the link takes
///   it without waiting (Link::try_send). When it does not, frames already on their way
///   are what the peer will see; the reactor never blocks.

#include <chrono>
#include <memory>

namespace courier::detail {

class NodeCore;
struct PeerLink;

class Heartbeats {
  public:
    explicit Heartbeats(NodeCore& node) noexcept : node_(node) {}

    /// Keeps a heartbeat on `peer` if its transport declares the settings and the node's
    /// config leaves them on (heartbeat_interval_us > 0). Until the link is dropped.
    void watch(const std::shared_ptr<PeerLink>& peer);

  private:
    struct Beat;
    void look(const std::shared_ptr<Beat>& beat);

    NodeCore& node_;
};

}  // namespace courier::detail
