#pragma once
/// @file
/// Monitors (Actor::monitor): which actor of this node waits for a Down about which name,
/// and the three things that end one with a Down: the name's actor in this node stops,
/// the registry says the registration it watched ended, or the link to the name's node
/// breaks. The first of them wins; a monitor ends once. Also the other way round: who
/// awaits an Up for a name that is not there yet (Actor::await_up).

#include "peer_link.hpp"

#include "registry/registry_protocol.hpp"

#include <courier/framework/system_messages.hpp>

#include <chrono>
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

    /// The actor `name` of this node stopped; `why` is its Down's detail.
    void local_stopped(const std::string& name, const std::string& why);
    /// The registry says a watched registration ended (its reader thread).
    void on_name_down(const registry::NameDown& down);
    /// The link `peer` broke: the names behind it are down, or their node is.
    void link_lost(const PeerLink& peer, const std::string& reason);
    /// The registry connection is back (courierd restarted): each monitor watches again;
    /// one whose registration ended meanwhile (another holder, or none) gets its Down.
    void watch_again();

    /// `watcher` gets an Up when `name` is registered (at once if it is now).
    void await_up(const std::string& watcher, std::string_view name);
    /// The registry says a name this node looked up in vain is registered now.
    void on_name_up(const registry::NameUp& up);
    /// The actor `name` of this node started (a node without a registry: its only source).
    void local_started(const std::string& name);

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
    /// Tells the watchers of names behind a broken link whether their node exited or only
    /// the link broke; a process not ended yet is looked at again after `wait`, then after
    /// twice as long, `tries` times in all.
    void judge(Ended ended, const std::string& node, const std::string& reason, int tries,
               std::chrono::milliseconds wait);
    /// Looks after 1, 2, 4 ... 64 ms (127 ms in all): a process that closed its links ends
    /// within a few ms, and its watchers hear of it about as soon (a flat 20 ms made them
    /// wait 20 ms whenever the first look came too early).
    static constexpr int verdict_tries = 8;
    static constexpr std::chrono::milliseconds first_verdict_wait{1};

    NodeCore& node_;
    std::mutex mutex_;
    std::map<std::uint64_t, Watch> watches_;
    std::uint64_t next_id_ = 0;
    /// NameDowns that came while a monitor of that name waited for the registry's answer
    /// (they travel on another thread): checked when the answer comes.
    std::map<std::string, registry::NameDown, std::less<>> early_downs_;
    /// Who awaits an Up, by name (several actors may await one name).
    std::multimap<std::string, std::string, std::less<>> awaiting_up_;
    /// Takes the watchers awaiting `name` (lock held).
    std::vector<std::string> take_awaiting(const std::string& name);
    void tell_up(const std::vector<std::string>& watchers, const Up& up);
};

}  // namespace courier::detail
