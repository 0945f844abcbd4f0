#pragma once
/// @file
/// Monitors (Actor::monitor): which actor of this node waits for a Down about which name,
/// and the three things that end one with a Down: the name's actor in this node stops,
/// the registry says the registration it watched ended, or the link to the name's node
/// breaks. The first of them wins; a monitor ends once.

#include "peer_link.hpp"

#include "registry/registry_protocol.hpp"

#include <courier/framework/system_messages.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier::detail {

class NodeCore;

class Monitors {
  public:
    explicit Monitors(NodeCore& node) noexcept : node_(node) {}

    /// `watcher` (an actor of this node) monitors `name`. Asks the registry, if the node
    /// has one, who holds it (a round trip). Returns the monitor's id; its Down may
    /// already be in the watcher's mailbox (the name was not there).
    std::uint64_t start(const std::string& watcher, std::string_view name);
    /// Ends monitor `id` without a Down.
    void cancel(std::uint64_t id) noexcept;
    /// The actor `watcher` stopped: its monitors end without a Down.
    void watcher_stopped(const std::string& watcher) noexcept;

    /// The actor `name` of this node stopped.
    void local_stopped(const std::string& name);
    /// The registry says a watched registration ended (its reader thread).
    void on_name_down(const registry::NameDown& down);
    /// The link `peer` broke: the names behind it are down, or their node is.
    void link_lost(const PeerLink& peer, const std::string& reason);

  private:
    /// Who is watched, as far as it is known.
    struct Watch {
        std::string watcher;
        std::string name;
        std::string node;
        std::int64_t pid = 0;
        std::uint64_t incarnation = 0;
        bool local = false;      ///< the name is an actor of this node
        bool resolving = false;  ///< the registry has not said yet which registration it is
    };
    using Ended = std::vector<std::pair<std::uint64_t, Watch>>;

    /// Moves the monitors `ends` selects out of the table (lock held).
    template <class Pred>
    void take(Ended& out, Pred ends);
    /// Tells each watcher of `ended` (no lock held).
    void tell(Ended& ended, DownReason reason, const std::string& detail);

    NodeCore& node_;
    std::mutex mutex_;
    std::map<std::uint64_t, Watch> watches_;
    std::uint64_t next_id_ = 0;
    /// NameDowns that came while a monitor of that name waited for the registry's answer
    /// (they travel on another thread): checked when the answer comes.
    std::map<std::string, registry::NameDown, std::less<>> early_downs_;
};

}  // namespace courier::detail
