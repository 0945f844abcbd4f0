#include "local_actors.hpp"

#include "host_name.hpp"

#include <mutex>

namespace courier::detail {

std::shared_ptr<Mailbox> LocalActors::find(const std::string& name) {
    std::shared_lock lock(mutex_);
    auto it = boxes_.find(name);
    return it == boxes_.end() ? nullptr : it->second;
}

std::shared_ptr<ActorCell> LocalActors::find_cell(const std::string& name) {
    return std::dynamic_pointer_cast<ActorCell>(find(name));
}

Mailbox* LocalActors::find_for_slow(PeerLink& peer, std::string_view recipient) {
    auto& last = peer.last;
    last.names_generation = generation_.load(std::memory_order_acquire);  // before
    last.recipient = recipient;
    // A name@host letter came here because that host's registry said so.
    last.box = find(std::string(split_host(last.recipient).actor));
    return last.box.get();
}

bool LocalActors::add(const std::string& name, std::shared_ptr<Mailbox> box) {
    std::unique_lock lock(mutex_);
    return boxes_.try_emplace(name, std::move(box)).second;
}

void LocalActors::remove(const std::string& name, const Mailbox* box) {
    std::unique_lock lock(mutex_);
    auto it = boxes_.find(name);
    if (it == boxes_.end() || (box && it->second.get() != box)) return;
    boxes_.erase(it);
    ++generation_;
}

std::vector<std::shared_ptr<Mailbox>> LocalActors::all() {
    std::shared_lock lock(mutex_);
    std::vector<std::shared_ptr<Mailbox>> boxes;
    boxes.reserve(boxes_.size());
    for (const auto& [name, box] : boxes_) boxes.push_back(box);
    return boxes;
}

std::vector<std::string> LocalActors::actor_names() {
    std::shared_lock lock(mutex_);
    std::vector<std::string> names;
    for (const auto& [name, box] : boxes_)
        if (name.front() != '$' && dynamic_cast<ActorCell*>(box.get())) names.push_back(name);
    return names;
}

std::vector<MailboxStats> LocalActors::mailbox_stats() {
    std::vector<std::shared_ptr<ActorCell>> cells;
    {
        std::shared_lock lock(mutex_);
        for (const auto& [name, box] : boxes_)
            if (name.front() != '$')
                if (auto cell = std::dynamic_pointer_cast<ActorCell>(box)) cells.push_back(cell);
    }
    std::vector<MailboxStats> stats;
    stats.reserve(cells.size());
    for (const auto& cell : cells) stats.push_back(cell->mailbox_stats());
    return stats;
}

}  // namespace courier::detail
