#include "dispatcher.hpp"

#include <algorithm>
#include <iostream>
#include <stdexcept>
#include <tuple>

namespace httpd {

void Dispatcher::on_start() {
    // The members now, then a message per join and leave, with nothing lost between.
    auto members = watch_group(workers_group);
    if (!members) throw std::runtime_error("cannot watch the workers: " + members.error().message);
    for (const auto& member : *members) joined(member);

    handle([this](Accepted& accepted) {
        ++accepted_;
        hand(std::move(accepted.socket));
    });
    handle([this](courier::MemberJoined& joined_group) { joined(joined_group.member); });
    handle([this](courier::MemberLeft& left_group) {
        left(left_group.member, courier::to_string(left_group.reason));
    });
    handle([this](Closed& message) { closed(message); });
    handle([this](StatsQuery&) { reply(stats()); });
    // A socket sent to a worker that died a moment ago: it closed with the message. Its
    // client sees the connection fail, one of the dead worker's.
    handle([](courier::DeadLetter& dead) {
        if (dead.type != courier::type_id_of<NewConnection>()) return;
        std::cout << "prefork_httpd: a connection for " << dead.recipient
                  << " was lost: " << dead.reason << std::endl;
    });
}

void Dispatcher::joined(const courier::GroupMember& member) {
    Worker& worker = workers_[member.name];
    if (worker.up && worker.pid == member.pid) return;
    if (worker.up) left({member.name, "", worker.pid}, "replaced");  // its leave not seen yet
    worker.up = true;
    worker.pid = member.pid;
    ++worker.joins;
    std::cout << "prefork_httpd: " << member.name << " up (pid " << member.pid << ")" << std::endl;
    const auto up = std::count_if(workers_.begin(), workers_.end(),
                                  [](const auto& entry) { return entry.second.up; });
    if (!all_up_said_ && static_cast<std::uint64_t>(up) >= options_.workers) {
        all_up_said_ = true;
        std::cout << "prefork_httpd: all " << up << " workers up" << std::endl;
    }
    while (!waiting_.empty()) {  // what came while none was up
        hand(std::move(waiting_.front()));
        waiting_.pop_front();
    }
}

void Dispatcher::left(const courier::GroupMember& member, std::string_view why) {
    const auto found = workers_.find(member.name);
    if (found == workers_.end() || !found->second.up || found->second.pid != member.pid) return;
    Worker& worker = found->second;
    // Its open connections went with it (its process held them): they are no load now.
    std::cout << "prefork_httpd: " << member.name << " (pid " << member.pid << ") left (" << why
              << ") holding " << worker.open << " open connections" << std::endl;
    std::erase_if(owners_, [&](const auto& owner) { return owner.second == member.name; });
    worker.up = false;
    worker.pid = 0;
    worker.open = 0;
}

void Dispatcher::hand(courier::Fd socket) {
    const auto worker = least_loaded();
    if (worker == workers_.end()) {
        if (waiting_.size() < options_.max_waiting) waiting_.push_back(std::move(socket));
        return;  // else it closes: too many wait already
    }
    const std::uint64_t id = next_id_++;
    ++worker->second.open;
    ++worker->second.connections;
    owners_.emplace(id, worker->first);
    // The socket leaves this process with the message (SCM_RIGHTS); our copy closes then.
    send(worker->first, NewConnection{id, std::move(socket)});
}

Dispatcher::Workers::iterator Dispatcher::least_loaded() {
    auto best = workers_.end();
    for (auto it = workers_.begin(); it != workers_.end(); ++it) {
        if (!it->second.up) continue;
        if (best == workers_.end() || std::tie(it->second.open, it->second.connections) <
                                          std::tie(best->second.open, best->second.connections))
            best = it;
    }
    return best;
}

void Dispatcher::closed(const Closed& message) {
    const auto owner = owners_.find(message.id);
    if (owner == owners_.end()) return;  // its worker left already and took it along
    Worker& worker = workers_[owner->second];
    --worker.open;
    worker.requests += message.requests;
    owners_.erase(owner);
}

Stats Dispatcher::stats() const {
    Stats stats;
    stats.accepted = accepted_;
    stats.waiting = waiting_.size();
    for (const auto& [name, worker] : workers_) {
        stats.workers.push_back({name, worker.pid, worker.open, worker.connections, worker.requests,
                                 worker.joins > 0 ? worker.joins - 1 : 0});
    }
    return stats;
}

}  // namespace httpd
