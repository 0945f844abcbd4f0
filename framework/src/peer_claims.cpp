// Who is at the other end of an accepted link (docs/security.md, "A peer is who the
// registry says it is"). A connector's Hello claims a node name; the link is named, and
// routes to that node, only once the claim holds: the registry lists that node with the
// pid the kernel gives for the connection (Link::peer_pid), or the way the link was
// made vouches for it. Until then its letters are delivered as any accepted link's are,
// and this node routes to the claimed node over a link of its own.

#include "node_core.hpp"
#include "peers.hpp"

#include <spdlog/spdlog.h>
#include <courier/log.hpp>

#include <algorithm>

namespace courier::detail {

void Peers::claim(const std::shared_ptr<PeerLink>& peer, const std::string& node) {
    const pid_t pid = peer->link->peer_pid();
    {
        std::lock_guard lock(mutex_);
        if (peer->said_hello || !peer->node().empty()) return;
        peer->said_hello = true;
        if (peer->initiated || pid == 0) {
            bind(peer, node);
            return;
        }
        claims_.emplace(node, Claim{peer, pid});
    }
    node_.scheduler().post([this, peer, node, pid] { verify(peer, node, pid); });
}

void Peers::verify(const std::shared_ptr<PeerLink>& peer, const std::string& node, pid_t pid) {
    std::int64_t listed = 0;
    std::string failure;
    try {
        RegistryClient* registry = node_.registry();
        if (registry == nullptr) throw RegistryError("this node is not registered yet");
        for (const auto& info : registry->list_nodes().nodes)
            if (info.node == node) listed = info.pid;
    } catch (const RegistryError& e) {
        failure = e.what();
    }
    {
        std::lock_guard lock(mutex_);
        auto it =
            std::ranges::find_if(claims_, [&](const auto& c) { return c.second.peer == peer; });
        if (it == claims_.end()) return;  // find() settled it, or the link closed
        claims_.erase(it);
        if (failure.empty() && listed == pid) {
            bind(peer, node);
            return;
        }
    }
    if (!failure.empty() || listed == 0) {
        // Not a lie the registry can show: its letters are delivered (it got past the
        // transport's checks), but ours to that node take a link of our own.
        log().warn(
            "node '{}': {} says it is node '{}', which the registry {}; the link "
            "stays unnamed",
            node_.name(), peer->link->peer(), node,
            failure.empty() ? "does not list" : "cannot confirm: " + failure);
        return;
    }
    ++peer->errors;
    log().error(
        "node '{}': refused {}: it says it is node '{}', which the registry lists as "
        "pid {}; closing the link",
        node_.name(), peer->link->peer(), node, listed);
    drop(peer, "it claimed to be node '" + node + "' (pid " + std::to_string(listed) + ")");
}

void Peers::bind(const std::shared_ptr<PeerLink>& peer, const std::string& node) {
    peer->name(node);
    by_node_.try_emplace(node, peer);
    recount_twice_linked();
}

}  // namespace courier::detail
