#pragma once
/// @file
/// How much an actor's mailbox holds, and what happens to a letter that finds it full:
/// chosen per actor (Actor::mailbox_limit) or for a whole node (NodeOptions::mailbox_limit).
/// No policy lets a mailbox grow without bound. docs/flow_control.md says what each
/// sender sees.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace courier {

/// What a letter that finds the mailbox full does. The framework's own letters (Down, Up,
/// DeadLetter, Failure, ChildFailed, and the node's internal ones) are always taken.
enum class Overflow : std::uint8_t {
    /// The sender is slowed (the default): a thread outside the node waits for room (up
    /// to NodeOptions::send_timeout, then its send fails with `mailbox_full`); an actor's
    /// send goes in, and the actor is not run again until the mailbox is half empty. So a
    /// worker thread never waits, and the mailbox holds at most its limit plus what its
    /// senders send within one turn each. An actor that others wait on is not held back
    /// (actors flooding each other cannot all wait).
    block,
    /// The letter is refused: its sender gets DeadLetter{mailbox_full}, a request fails
    /// with `mailbox_full`, Node::send returns that error.
    fail,
    /// The letter is dropped: counted (MailboxStats::dropped) and logged once a second, as
    /// dead letters are; its sender is not told. A request is refused as under `fail`
    /// instead: its requester would otherwise wait out its timeout.
    drop_newest,
    /// The oldest letter is dropped to make room: the letter goes in, and the actor drops
    /// the oldest it holds when it next takes one (counted and logged, not told; an old
    /// request is refused as under `fail`). So the freshest letters are kept. A mailbox
    /// that falls a whole limit behind (its actor busy in one long handler) drops the
    /// newest instead: it never holds more than twice its limit.
    drop_oldest,
};

/// "block", "fail", "drop_newest", "drop_oldest".
std::string_view to_string(Overflow overflow) noexcept;
/// The policy named `word` (as to_string writes it), if any.
std::optional<Overflow> overflow_named(std::string_view word) noexcept;

/// A mailbox is full when it holds `letters` letters, or `bytes` bytes of letters that
/// came over links (a letter of this process counts by number only: its size is its C++
/// object's, which the framework does not measure). One letter larger than `bytes` still
/// goes into an empty mailbox.
struct MailboxLimit {
    std::size_t letters = 10'000;
    std::size_t bytes = std::size_t{16} << 20;
    Overflow overflow = Overflow::block;
    bool operator==(const MailboxLimit&) const = default;
};

/// What a mailbox holds and held, and what its limit did (Node::mailboxes()).
struct MailboxStats {
    std::string name;            ///< the actor's
    std::size_t depth = 0;       ///< letters in it now
    std::size_t high_water = 0;  ///< the most it held, as seen at the actor's turns
    MailboxLimit limit;
    std::uint64_t blocked_us = 0;  ///< time its senders spent slowed (waiting or parked)
    std::uint64_t refused = 0;     ///< letters refused (Overflow::fail)
    std::uint64_t dropped = 0;     ///< letters dropped (drop_newest, drop_oldest)
};

}  // namespace courier
