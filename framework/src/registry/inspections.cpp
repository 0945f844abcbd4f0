#include "registry/inspections.hpp"

#include <algorithm>
#include <utility>

namespace courier::registry {

Inspections::Inspections(detail::Reactor& timers, Answer answer, Ask ask)
    : timers_(timers), answer_(std::move(answer)), ask_(std::move(ask)) {}

Inspections::~Inspections() {
    for (const auto& [ask, waiting] : waiting_) timers_.cancel(waiting.timer);
}

void Inspections::ask(ConnectionId asker, std::uint64_t correlation, const std::string& node,
                      std::optional<ConnectionId> node_connection) {
    auto refuse = [&](std::string why) {
        answer_(asker, correlation, Inspection{false, std::move(why), {}});
    };
    if (!node_connection) return refuse("no node named '" + node + "' is registered");
    const auto asked = static_cast<std::size_t>(std::ranges::count_if(
        waiting_, [&](const auto& entry) { return entry.second.asker == asker; }));
    if (asked >= max_waiting_per_asker)
        return refuse("this connection has " + std::to_string(asked) +
                      " questions waiting already");
    const std::uint64_t number = next_ask_++;
    auto timer = timers_.after(answer_within, [this, number] {
        fail(number, "it did not answer within " + std::to_string(answer_within.count()) + " ms");
    });
    waiting_.emplace(number, Waiting{asker, correlation, node, *node_connection, timer});
    ask_(*node_connection, Inspect{number});
}

Status Inspections::answered(ConnectionId from, Inspected answer) {
    auto it = waiting_.find(answer.ask);
    if (it == waiting_.end()) return {};  // given up on: nobody waits for it now
    if (it->second.node_connection != from)
        return Status{
            false, "question " + std::to_string(answer.ask) + " was not asked of this connection"};
    const Waiting waiting = std::move(it->second);
    waiting_.erase(it);
    timers_.cancel(waiting.timer);
    answer_(waiting.asker, waiting.correlation, Inspection{true, {}, std::move(answer.list)});
    return {};
}

void Inspections::forget(ConnectionId id) {
    for (auto it = waiting_.begin(); it != waiting_.end();) {
        const auto number = it->first;
        const Waiting& waiting = it->second;
        ++it;
        if (waiting.asker == id) {
            timers_.cancel(waiting.timer);
            waiting_.erase(number);
        } else if (waiting.node_connection == id) {
            fail(number, "it went away before it answered");
        }
    }
}

void Inspections::fail(std::uint64_t ask, const std::string& why) {
    auto it = waiting_.find(ask);
    if (it == waiting_.end()) return;
    const Waiting waiting = std::move(it->second);
    waiting_.erase(it);
    timers_.cancel(waiting.timer);
    answer_(waiting.asker, waiting.correlation,
            Inspection{false, "node '" + waiting.node + "': " + why, {}});
}

}  // namespace courier::registry
