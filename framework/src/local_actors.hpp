#pragma once
/// @file
/// The names of this node's mailboxes: its actors, and the waiters of Node::request.
/// Thread-safe; lookups share a lock, changes take it alone.

#include "actor_cell.hpp"
#include "mailbox.hpp"
#include "peer_link.hpp"

#include <courier/framework/mailbox_limit.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace courier::detail {

class LocalActors {
  public:
    /// The mailbox named `name`, or null.
    std::shared_ptr<Mailbox> find(const std::string& name);
    /// The cell of the actor named `name`, or null (also when the name is a waiter's).
    std::shared_ptr<ActorCell> find_cell(const std::string& name);
    /// The mailbox for a letter `peer` brought to `recipient`, remembered in peer.last so
    /// that a stream of letters to one actor finds it without the lock; or null. Only by
    /// the thread holding peer.receiving.
    Mailbox* find_for(PeerLink& peer, std::string_view recipient) {
        auto& last = peer.last;
        if (last.box && last.recipient == recipient &&
            last.names_generation == generation_.load(std::memory_order_acquire))
            return last.box.get();
        return find_for_slow(peer, recipient);
    }
    /// Adds `box` under `name`; false when the name is taken.
    bool add(const std::string& name, std::shared_ptr<Mailbox> box);
    /// Removes `name`, if it names `box` (any mailbox when `box` is null).
    void remove(const std::string& name, const Mailbox* box = nullptr);
    /// Every mailbox, for stopping them all.
    std::vector<std::shared_ptr<Mailbox>> all();
    /// The names of the actors (not the framework's `$` waiters), for registering again.
    std::vector<std::string> actor_names();
    /// The mailboxes of the actors (not the waiters nor the node's own), by name.
    std::vector<MailboxStats> mailbox_stats();

  private:
    Mailbox* find_for_slow(PeerLink& peer, std::string_view recipient);

    std::shared_mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<Mailbox>> boxes_;
    /// Bumped when a name goes: a link's remembered delivery may name the box that went.
    std::atomic<std::uint64_t> generation_{0};
};

}  // namespace courier::detail
