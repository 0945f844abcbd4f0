#pragma once
/// @file
/// The slow-receiver scenario (issue #16): a producer sends `count` Payloads as fast as
/// courier lets it to a consumer that takes `pace_ns` per message. Before flow control
/// the producer's sends return at once and the letters pile up in memory; after it, the
/// consumer's pace reaches the producer and both processes stay small. Both ends report
/// their peak resident memory when the orchestrator asks (report_memory).

#include "options.hpp"
#include "peer_protocol.hpp"

#include <courier/courier.hpp>

#include <string>

namespace courier::bench {

/// An actor that checks every Payload (count, order, checksum) and busy-waits until
/// `pace_ns` has passed since the message's handling began; it reports on Done.
void spawn_paced_consumer(Node& node, const std::string& name, const RoleOptions& o,
                          const Reporter& report);

/// An actor that, on Start, sends the Payloads in turns of a bounded batch, each turn
/// ending with a Continue to itself, as an application's actor would; then Done.
void spawn_batch_producer(Node& node, const std::string& name, const std::string& consumer,
                          const RoleOptions& o, const Reporter& report);

/// Sends the Payloads, then Done, with Node::send from the calling thread in a loop.
void produce_from_thread(Node& node, const std::string& consumer, const RoleOptions& o,
                         const Reporter& report);

/// Reports this process's peak and current resident memory as `side`'s (Side::both:
/// as both sides', which share the process).
void report_memory(Side side, const Reporter& report);

}  // namespace courier::bench
