#pragma once
/// @file
/// The log of a node's dead letters, said once: at most one line per second for each
/// (recipient, reason), with a count. A producer whose consumer died sends it a million
/// letters a second; a line for each (50 MiB in 15 s) buries the one that matters. The
/// letters are still each counted and bounced (NodeCore::dead_letter): only the log is
/// thinned.
///
/// The first dead letter to a (recipient, code) is logged at once and opens a window of a
/// second for it; the rest within the window are counted, and a reactor timer logs the
/// count when the window ends ("... and 41,230 more like it"), so a burst that stops is
/// still reported. A window that counted some opens the next one; a quiet one closes. The
/// table of keys is bounded: past `max_keys` open at once, the rest are counted together
/// under "other names". Keys whose window closed stay, with their totals, for `courier
/// links` (targets()), until a new key needs their place.

#include "node_protocol.hpp"
#include "reactor.hpp"

#include <courier/framework/detail/letter.hpp>
#include <courier/framework/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace courier::detail {

class DeadLetterLog {
  public:
    /// How long a window lasts: the most a (recipient, code) is logged is once per window.
    static constexpr std::chrono::milliseconds window{1000};
    static constexpr std::size_t default_max_keys = 64;

    /// Logs for node `node`; the windows are timers of `timers`, which must run none of
    /// them once this is destroyed (stop it first, or step it by hand).
    DeadLetterLog(std::string node, Reactor& timers, std::size_t max_keys = default_max_keys);
    /// Logs the counts of the windows still open, so none goes unsaid.
    ~DeadLetterLog();
    DeadLetterLog(const DeadLetterLog&) = delete;
    DeadLetterLog& operator=(const DeadLetterLog&) = delete;

    /// A letter that could not be delivered, `code` and `reason` saying why: logged now if
    /// it opens a window, else counted. Any thread.
    void record(const Letter& letter, ErrorCode code, const std::string& reason);

    /// Up to `most` of the keys in the table and their dead letters since each entered it,
    /// most first.
    std::vector<DeadLetterCount> targets(std::size_t most) const;

  private:
    struct Key {
        std::string recipient;
        ErrorCode code;
    };
    /// A key as record() has it, without a copy of the name.
    struct KeyRef {
        std::string_view recipient;
        ErrorCode code;
    };
    struct KeyLess {
        using is_transparent = void;
        template <class A, class B>
        bool operator()(const A& a, const B& b) const noexcept {
            return a.code != b.code ? a.code < b.code
                                    : std::string_view(a.recipient) < std::string_view(b.recipient);
        }
    };
    struct Entry {
        std::uint64_t total = 0;     ///< since it entered the table
        std::uint64_t unlogged = 0;  ///< in the open window, after the one logged
        std::uint64_t last_use = 0;  ///< the serial of its latest letter: least recent goes first
        std::optional<Reactor::TimerId> window;  ///< set while a window is open
    };

    /// Opens a window for `entry` (under mutex_), ended by a timer; `key` is null for the
    /// other names.
    void open_window(Entry& entry, const Key* key);
    /// A window ended: logs its count and opens the next, or closes it when it counted none.
    void end_window(const std::optional<Key>& key);
    /// Makes room for a new key by dropping the least recently used one whose window is
    /// closed; false when every key has a window open.
    bool make_room();

    const std::string node_;
    Reactor& timers_;
    const std::size_t max_keys_;

    mutable std::mutex mutex_;
    std::map<Key, Entry, KeyLess> keys_;
    Entry others_;  ///< dead letters to names that found the table full
    std::uint64_t serial_ = 0;
};

}  // namespace courier::detail
