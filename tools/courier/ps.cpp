/// `courier ps`: the registry's nodes, with what each says of itself when asked.

#include "commands.hpp"
#include "json_output.hpp"
#include "leftovers.hpp"
#include "node_session.hpp"
#include "table.hpp"

#include <iostream>

namespace courier::cli {

namespace {

/// "consumer 9800/10000": the mailbox fullest against its limit; "-" when all are empty.
std::string fullest_mailbox(const LinkList& list) {
    const MailboxStats* fullest = nullptr;
    for (const auto& box : list.mailboxes) {
        if (box.depth == 0) continue;
        if (!fullest || box.depth * fullest->limit.letters > fullest->depth * box.limit.letters)
            fullest = &box;
    }
    if (!fullest) return "-";
    return fullest->name + " " + std::to_string(fullest->depth) + "/" +
           std::to_string(fullest->limit.letters);
}

/// "node-b 64": the link with the most letters waiting for credit, and how many; "-" if
/// none wait.
std::string waiting_for_credit(const LinkList& list) {
    const LinkInfo* most = nullptr;
    for (const auto& link : list.links)
        if (link.outbox != 0 && (!most || link.outbox > most->outbox)) most = &link;
    if (!most) return "-";
    return (most->peer_node.empty() ? most->peer : most->peer_node) + " " +
           std::to_string(most->outbox);
}

}  // namespace

int ps(const std::string& runtime_dir, bool json) {
    auto reports = inspect_all(runtime_dir, "ps", json ? std::cerr : std::cout);
    if (!reports) {
        if (json)
            std::cout << "[]\n";
        else
            mention_orphans(runtime_dir, nullptr);
        return 0;
    }
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows{{"NODE", "PID", "ENDPOINTS", "NAMES",
                                                "FULLEST MAILBOX", "WAITING FOR CREDIT",
                                                "DEAD LETTERS"}};
    registry::NodeList nodes;
    for (const auto& [node, asked] : *reports) {
        nodes.nodes.push_back(node);
        if (json) {
            out.push_back(json_of(node, asked ? &*asked : nullptr));
            continue;
        }
        // "?": the node did not answer.
        std::string dead = "?", fullest = "?", waiting = "?";
        if (asked) {
            dead = std::to_string(asked->stats.dead_letters);
            if (!asked->dead_letter_targets.empty())
                dead += " (most to " + asked->dead_letter_targets.front().recipient + ")";
            fullest = fullest_mailbox(*asked);
            waiting = waiting_for_credit(*asked);
        }
        rows.push_back({node.node, std::to_string(node.pid), joined(node.endpoints),
                        joined(node.names), fullest, waiting, dead});
    }
    if (json) {
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    if (nodes.nodes.empty())
        std::cout << "no nodes are registered in " << registry_dir(runtime_dir).string() << "\n";
    else
        print_table(rows);
    mention_orphans(runtime_dir, &nodes);
    return 0;
}

}  // namespace courier::cli
