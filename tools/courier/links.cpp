/// `courier links`: every open link of every node (its ends, transport, why, counters and
/// credit: what it may still send, letters waiting for credit, the peer's letters not yet
/// taken, how long its senders waited); then the nodes' dead letters and mailboxes.

#include "commands.hpp"
#include "json_output.hpp"
#include "node_session.hpp"
#include "table.hpp"

#include <iostream>

namespace courier::cli {

namespace {

/// "consumer (unknown_name) 41230, ...": where a node's dead letters went.
std::string dead_letter_targets(const LinkList& list) {
    std::string out;
    for (const auto& target : list.dead_letter_targets) {
        if (!out.empty()) out += ", ";
        out += target.recipient + " (" + std::string(to_string(target.code)) + ") " +
               std::to_string(target.count);
    }
    return out.empty() ? "-" : out;
}

std::string count_and_bytes(std::uint64_t count, std::uint64_t bytes) {
    return std::to_string(count) + " (" + std::to_string(bytes) + " B)";
}

}  // namespace

int links(const std::string& runtime_dir, bool json) {
    auto reports = inspect_all(runtime_dir, "links", json ? std::cerr : std::cout);
    if (!reports) {
        if (json) std::cout << "[]\n";
        return 0;
    }
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows{{"NODE", "PEER", "TRANSPORT", "WHY", "SENT",
                                                "RECEIVED", "ERRORS", "CREDIT", "OUTBOX",
                                                "UNRETURNED", "WAITED"}};
    std::vector<std::vector<std::string>> dead_rows{{"NODE", "DEAD LETTERS", "MOST TO"}};
    std::vector<std::vector<std::string>> mailbox_rows{{"NODE", "ACTOR", "MAILBOX", "HIGHEST",
                                                        "LIMIT", "OVERFLOW", "SLOWED", "REFUSED",
                                                        "DROPPED"}};
    int status = 0;
    for (const auto& [node, list] : *reports) {
        if (!list) {
            std::cerr << "courier links: node '" << node.node << "': " << list.error() << "\n";
            status = 1;
            if (json) out.push_back(json_of(node, nullptr));
            continue;
        }
        if (json) {
            out.push_back(json_of(node, &*list));
            continue;
        }
        for (const auto& link : list->links) {
            if (link.peer_node.empty()) continue;  // a tool's (`courier ping`)
            rows.push_back({node.node, link.peer_node, link.transport, link.reason,
                            count_and_bytes(link.frames_sent, link.bytes_sent),
                            count_and_bytes(link.frames_received, link.bytes_received),
                            std::to_string(link.errors), std::to_string(link.credit),
                            std::to_string(link.outbox), std::to_string(link.unreturned),
                            std::to_string(link.blocked_us / 1000) + " ms"});
        }
        if (list->stats.dead_letters != 0)
            dead_rows.push_back(
                {node.node, std::to_string(list->stats.dead_letters), dead_letter_targets(*list)});
        for (const auto& box : list->mailboxes)
            mailbox_rows.push_back({node.node, box.name, std::to_string(box.depth),
                                    std::to_string(box.high_water),
                                    count_and_bytes(box.limit.letters, box.limit.bytes),
                                    std::string(to_string(box.limit.overflow)),
                                    std::to_string(box.blocked_us / 1000) + " ms",
                                    std::to_string(box.refused), std::to_string(box.dropped)});
    }
    if (json) {
        std::cout << out.dump(2) << "\n";
        return status;
    }
    if (rows.size() == 1)
        std::cout << "no links are open\n";
    else
        print_table(rows);
    if (dead_rows.size() > 1) {
        std::cout << "\n";
        print_table(dead_rows);
    }
    if (mailbox_rows.size() > 1) {
        std::cout << "\n";
        print_table(mailbox_rows);
    }
    return status;
}

}  // namespace courier::cli
