#include "dead_letter_log.hpp"

#include <courier/framework/detail/reply.hpp>
#include <courier/log.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace courier::detail {

namespace {

/// 41230 as "41,230": counts of dead letters run to millions.
std::string grouped(std::uint64_t n) {
    std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

/// The line of a window's count (none for a window that counted nothing).
void log_count(const std::string& node, const std::string* recipient, ErrorCode code,
               std::uint64_t count, std::string_view when) {
    if (count == 0) return;
    if (recipient)
        log().warn("node '{}': dead letter: ... and {} more like it to '{}' ({}) {}", node,
                   grouped(count), *recipient, to_string(code), when);
    else
        log().warn("node '{}': dead letter: ... and {} more to other names {}", node,
                   grouped(count), when);
}

constexpr std::string_view in_the_last_second = "in the last second";

}  // namespace

DeadLetterLog::DeadLetterLog(std::string node, Reactor& timers, std::size_t max_keys)
    : node_(std::move(node)), timers_(timers), max_keys_(std::max<std::size_t>(max_keys, 1)) {}

DeadLetterLog::~DeadLetterLog() {
    std::lock_guard lock(mutex_);
    for (auto& [key, entry] : keys_) {
        if (entry.window) timers_.cancel(*entry.window);
        log_count(node_, &key.recipient, key.code, entry.unlogged, "before it stopped");
    }
    if (others_.window) timers_.cancel(*others_.window);
    log_count(node_, nullptr, ErrorCode::unknown_name, others_.unlogged, "before it stopped");
}

void DeadLetterLog::record(const Letter& letter, ErrorCode code, const std::string& reason) {
    bool full = false;
    {
        std::lock_guard lock(mutex_);
        auto it = keys_.find(KeyRef{letter.recipient, code});
        if (it == keys_.end() && (keys_.size() < max_keys_ || make_room()))
            it = keys_.emplace(Key{letter.recipient, code}, Entry{}).first;
        Entry& entry = it != keys_.end() ? it->second : others_;
        ++entry.total;
        entry.last_use = ++serial_;
        if (entry.window) {
            ++entry.unlogged;
            return;
        }
        open_window(entry, it != keys_.end() ? &it->first : nullptr);
        full = it == keys_.end();
    }
    // The line that opens a window, outside the lock: other senders only count meanwhile.
    log().warn("node '{}': dead letter: {} from '{}' to '{}': {}{}", node_, type_name(letter.type),
               letter.sender.empty() ? "(anonymous)" : letter.sender, letter.recipient, reason,
               full ? " (more names have dead letters than are counted apart: the rest are "
                      "counted together as other names)"
                    : "");
}

std::vector<DeadLetterCount> DeadLetterLog::targets(std::size_t most) const {
    std::vector<DeadLetterCount> counts;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [key, entry] : keys_)
            counts.push_back(DeadLetterCount{key.recipient, key.code, entry.total});
    }
    std::stable_sort(counts.begin(), counts.end(),
                     [](const auto& a, const auto& b) { return a.count > b.count; });
    if (counts.size() > most) counts.resize(most);
    return counts;
}

void DeadLetterLog::open_window(Entry& entry, const Key* key) {
    std::optional<Key> which;
    if (key) which = *key;
    entry.window = timers_.after(window, [this, which] { end_window(which); });
}

void DeadLetterLog::end_window(const std::optional<Key>& key) {
    std::uint64_t count = 0;
    {
        std::lock_guard lock(mutex_);
        auto it = key ? keys_.find(*key) : keys_.end();
        if (key && it == keys_.end()) return;  // cannot be: a key with a window open stays
        Entry& entry = key ? it->second : others_;
        count = std::exchange(entry.unlogged, 0);
        entry.window.reset();
        // A window that counted some opens the next: a steady stream gets a line a second.
        if (count != 0) open_window(entry, key ? &it->first : nullptr);
    }
    log_count(node_, key ? &key->recipient : nullptr, key ? key->code : ErrorCode::unknown_name,
              count, in_the_last_second);
}

bool DeadLetterLog::make_room() {
    auto oldest = keys_.end();
    for (auto it = keys_.begin(); it != keys_.end(); ++it)
        if (!it->second.window &&
            (oldest == keys_.end() || it->second.last_use < oldest->second.last_use))
            oldest = it;
    if (oldest == keys_.end()) return false;
    keys_.erase(oldest);
    return true;
}

}  // namespace courier::detail
