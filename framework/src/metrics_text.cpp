#include "metrics_text.hpp"

#include "node_core.hpp"

#include <map>
#include <string_view>

namespace courier::detail {

namespace {

/// A label value as the format writes it: backslash, double quote and newline escaped.
std::string escaped(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

/// Whole nanoseconds as seconds in decimal, exactly ("0.000025", "1", "12.5"): no
/// floating point between the integer counts and the text.
std::string seconds(std::uint64_t ns) {
    constexpr std::uint64_t per_second = 1'000'000'000;
    std::string text = std::to_string(ns / per_second);
    if (const auto fraction = ns % per_second; fraction != 0) {
        std::string digits = std::to_string(fraction);
        digits.insert(0, 9 - digits.size(), '0');
        digits.erase(digits.find_last_not_of('0') + 1);
        text += '.' + digits;
    }
    return text;
}

/// Writes families of samples, each sample with the node's label first.
class Exposition {
  public:
    explicit Exposition(std::string_view node) : node_("node=\"" + escaped(node) + "\"") {}

    void family(std::string_view name, std::string_view type, std::string_view help) {
        out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
        out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    }
    /// `labels`: more labels after node's, already written as `key="value",...`.
    void sample(std::string_view name, std::string_view labels, std::string_view value) {
        out_.append(name).append("{").append(node_);
        if (!labels.empty()) out_.append(",").append(labels);
        out_.append("} ").append(value).append("\n");
    }
    void sample(std::string_view name, std::string_view labels, std::uint64_t value) {
        sample(name, labels, std::to_string(value));
    }
    std::string take() { return std::move(out_); }

  private:
    std::string node_;
    std::string out_;
};

std::string label(std::string_view key, std::string_view value) {
    return std::string(key) + "=\"" + escaped(value) + "\"";
}

struct LinkTotals {
    std::uint64_t frames_sent = 0, bytes_sent = 0, frames_received = 0, bytes_received = 0;
};

}  // namespace

MetricsSnapshot metrics_snapshot(NodeCore& node) {
    MetricsSnapshot snapshot;
    snapshot.node = node.name();
    snapshot.stats = node.stats();
    snapshot.links = node.peers().links();
    snapshot.closed_links = node.peers().closed_links();
    snapshot.mailboxes = node.actors().mailbox_stats();
    const auto& by_code = node.counters().dead_letters_by_code;
    for (std::size_t byte = 0; byte < by_code.size(); ++byte) {
        const auto value = static_cast<std::uint8_t>(byte);
        if (is_error_code(value))
            snapshot.dead_letters.emplace_back(static_cast<ErrorCode>(value),
                                               by_code[byte].load(std::memory_order_relaxed));
    }
    snapshot.request_durations = node.requests().durations().snapshot();
    return snapshot;
}

std::string metrics_text(const MetricsSnapshot& snapshot) {
    Exposition out(snapshot.node);

    // Per (peer node, transport), in a stable order, the open links and those closed
    // since the node started: counters never go down. A tool's link (no node) is left
    // out: it comes and goes with each `courier links`.
    std::map<std::pair<std::string, std::string>, LinkTotals> links;
    for (const auto* list : {&snapshot.links, &snapshot.closed_links}) {
        for (const auto& link : *list) {
            if (link.peer_node.empty()) continue;
            auto& totals = links[{link.peer_node, link.transport}];
            totals.frames_sent += link.frames_sent;
            totals.bytes_sent += link.bytes_sent;
            totals.frames_received += link.frames_received;
            totals.bytes_received += link.bytes_received;
        }
    }
    const auto per_link = [&](std::string_view name, std::string_view help,
                              std::uint64_t LinkTotals::*field) {
        out.family(name, "counter", help);
        for (const auto& [key, totals] : links)
            out.sample(name, label("peer", key.first) + "," + label("transport", key.second),
                       totals.*field);
    };
    per_link("courier_messages_sent_total",
             "Frames sent to another node, over every link to it since this node started.",
             &LinkTotals::frames_sent);
    per_link("courier_messages_received_total",
             "Frames received from another node, over every link to it since this node started.",
             &LinkTotals::frames_received);
    per_link("courier_bytes_sent_total",
             "Bytes of frames sent to another node, over every link to it since this node started.",
             &LinkTotals::bytes_sent);
    per_link("courier_bytes_received_total",
             "Bytes of frames received from another node, over every link to it since this node "
             "started.",
             &LinkTotals::bytes_received);

    out.family("courier_mailbox_depth", "gauge", "Letters in the actor's mailbox now.");
    for (const auto& box : snapshot.mailboxes)
        out.sample("courier_mailbox_depth", label("actor", box.name), box.depth);
    out.family("courier_mailbox_dropped_total", "counter",
               "Letters the actor's full mailbox dropped (Overflow drop_newest, drop_oldest).");
    for (const auto& box : snapshot.mailboxes)
        out.sample("courier_mailbox_dropped_total", label("actor", box.name), box.dropped);
    out.family("courier_mailbox_refused_total", "counter",
               "Letters the actor's full mailbox refused (Overflow fail).");
    for (const auto& box : snapshot.mailboxes)
        out.sample("courier_mailbox_refused_total", label("actor", box.name), box.refused);

    out.family("courier_dead_letters_total", "counter",
               "Letters this node could not deliver, by the ErrorCode that says why.");
    for (const auto& [code, count] : snapshot.dead_letters)
        out.sample("courier_dead_letters_total", label("reason", to_string(code)), count);

    const auto node_counter = [&](std::string_view name, std::string_view help,
                                  std::uint64_t value) {
        out.family(name, "counter", help);
        out.sample(name, {}, value);
    };
    node_counter("courier_letters_delivered_total",
                 "Letters put in a mailbox of this node (from its own actors and from links).",
                 snapshot.stats.delivered_local);
    node_counter("courier_handler_failures_total",
                 "Handlers (and request callbacks) that threw, or got a message they could "
                 "not decode.",
                 snapshot.stats.handler_failures);
    node_counter("courier_bad_frames_total",
                 "Frames refused as malformed (the link they came on was closed).",
                 snapshot.stats.bad_frames);
    node_counter("courier_registry_lookups_total",
                 "Names looked up in the registry to send to them.",
                 snapshot.stats.registry_lookups);
    node_counter("courier_actor_restarts_total",
                 "Actors built again after their handler threw (FailurePolicy::restart).",
                 snapshot.stats.restarts);

    constexpr std::string_view duration = "courier_request_duration_seconds";
    const auto& durations = snapshot.request_durations;
    out.family(duration, "histogram",
               "Requests of this node's actors and of Node::request, from send to answer "
               "(a reply, a Failure or a DeadLetter; timeouts are not counted).");
    const std::string bucket = std::string(duration) + "_bucket";
    for (std::size_t i = 0; i < RequestDurations::bounds_ns.size(); ++i)
        out.sample(bucket, label("le", seconds(RequestDurations::bounds_ns[i])),
                   durations.buckets[i]);
    out.sample(bucket, label("le", "+Inf"), durations.count);
    out.sample(std::string(duration) + "_sum", {}, seconds(durations.sum_ns));
    out.sample(std::string(duration) + "_count", {}, durations.count);
    return out.take();
}

}  // namespace courier::detail
