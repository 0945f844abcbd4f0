#pragma once
/// @file
/// A node's metrics in Prometheus' text exposition format 0.0.4: what GET /metrics answers
/// (metrics_server.hpp). Taken apart so a test can render a snapshot without HTTP: the
/// snapshot reads the node's counters (each on its own, relaxed: a scrape is a moment, not
/// a transaction), the text only formats it. Every metric and label: docs/observability.md,
/// "Metrics".

#include "request_durations.hpp"

#include <courier/framework/error.hpp>
#include <courier/framework/mailbox_limit.hpp>
#include <courier/framework/node.hpp>
#include <courier/framework/system_messages.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace courier::detail {

class NodeCore;

/// What one scrape shows of a node.
struct MetricsSnapshot {
    std::string node;
    NodeStats stats;
    std::vector<LinkInfo> links;
    std::vector<LinkInfo> closed_links;  ///< Peers::closed_links(): counted in the totals
    std::vector<MailboxStats> mailboxes;
    /// Every ErrorCode, with the dead letters counted for it (zeros too: a series that
    /// appears only at its first count hides its first increase from rate()).
    std::vector<std::pair<ErrorCode, std::uint64_t>> dead_letters;
    RequestDurations::Snapshot request_durations;
};

MetricsSnapshot metrics_snapshot(NodeCore& node);

/// The exposition text: # HELP and # TYPE for each metric, every series labelled with
/// node="<name>" (several nodes may share a process, and a scraper). Links are summed per
/// (peer node, transport): two links to one node, one each way, are one series.
std::string metrics_text(const MetricsSnapshot& snapshot);

}  // namespace courier::detail
