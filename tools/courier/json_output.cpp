#include "json_output.hpp"

namespace courier::cli {

using nlohmann::json;

json json_of(const NodeStats& stats) {
    return {{"delivered_local", stats.delivered_local},   {"sent_remote", stats.sent_remote},
            {"received_remote", stats.received_remote},   {"dead_letters", stats.dead_letters},
            {"handler_failures", stats.handler_failures}, {"bad_frames", stats.bad_frames},
            {"registry_lookups", stats.registry_lookups}, {"restarts", stats.restarts}};
}

json json_of(const LinkInfo& link) {
    return {{"peer_node", link.peer_node},
            {"transport", link.transport},
            {"reason", link.reason},
            {"peer", link.peer},
            {"initiated", link.initiated},
            {"frames_sent", link.frames_sent},
            {"bytes_sent", link.bytes_sent},
            {"frames_received", link.frames_received},
            {"bytes_received", link.bytes_received},
            {"errors", link.errors},
            {"credit", link.credit},
            {"outbox", link.outbox},
            {"unreturned", link.unreturned},
            {"blocked_us", link.blocked_us}};
}

json json_of(const MailboxStats& box) {
    return {{"actor", box.name},
            {"depth", box.depth},
            {"high_water", box.high_water},
            {"limit_letters", box.limit.letters},
            {"limit_bytes", box.limit.bytes},
            {"overflow", std::string(to_string(box.limit.overflow))},
            {"blocked_us", box.blocked_us},
            {"refused", box.refused},
            {"dropped", box.dropped}};
}

json json_of(const registry::NodeInfo& node, const LinkList* answer) {
    json out = {{"node", node.node},
                {"pid", node.pid},
                {"endpoints", node.endpoints},
                {"names", node.names},
                {"answered", answer != nullptr}};
    if (!answer) return out;
    out["stats"] = json_of(answer->stats);
    json links = json::array();
    for (const auto& link : answer->links)
        if (!link.peer_node.empty()) links.push_back(json_of(link));  // not a tool's query
    out["links"] = std::move(links);
    json targets = json::array();
    for (const auto& target : answer->dead_letter_targets)
        targets.push_back({{"recipient", target.recipient},
                           {"code", std::string(to_string(target.code))},
                           {"count", target.count}});
    out["dead_letter_targets"] = std::move(targets);
    json boxes = json::array();
    for (const auto& box : answer->mailboxes) boxes.push_back(json_of(box));
    out["mailboxes"] = std::move(boxes);
    return out;
}

json json_of(const registry::GroupList& group) {
    json members = json::array();
    for (const auto& member : group.members)
        members.push_back({{"name", member.name}, {"node", member.node}, {"pid", member.pid}});
    return {{"group", group.group}, {"members", std::move(members)}};
}

}  // namespace courier::cli
