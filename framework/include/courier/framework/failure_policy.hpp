#pragma once
/// @file
/// What an actor does when one of its handlers throws: an explicit reaction, chosen per
/// actor (Actor::failure_policy) or for a whole node (NodeOptions::actor_failure), never
/// whatever the thread happens to do. docs/failures.md, "An actor's handler throws".

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace courier {

/// The reaction to a handler (or a request's callback) that throws. In every case the
/// exception is logged and counted (NodeStats::handler_failures) and a request being
/// handled is answered with Failure{handler_failed}; then:
enum class FailurePolicy : std::uint8_t {
    /// the actor goes on with its next letter, its state as the handler left it;
    resume,
    /// the actor is built again: on_stop runs, a new object takes its place under the same
    /// name (no Down, its mailbox kept: the letters behind the failing one go to the new
    /// object), then its on_start. Past its RestartLimit it escalates instead. The default.
    restart,
    /// the actor stops, as Actor::stop() would: its monitors get Down{stopped}, its
    /// queued letters bounce as `stopped`;
    stop,
    /// the actor stops, and its parent (the actor that spawned it with
    /// Actor::spawn_child) gets ChildFailed; an actor without a parent is stopped by its
    /// node, which logs it.
    escalate,
};

/// "resume", "restart", "stop", "escalate".
std::string_view to_string(FailurePolicy policy) noexcept;
/// The policy named `word` (as to_string writes it), if any.
std::optional<FailurePolicy> failure_policy_named(std::string_view word) noexcept;

/// How often an actor may restart: at most `restarts` times within any `within`; the
/// failure that would be one more escalates instead (a handler that throws on every
/// letter must not restart forever). 0 restarts: the first failure escalates.
struct RestartLimit {
    std::uint32_t restarts = 5;
    std::chrono::milliseconds within{10'000};
    bool operator==(const RestartLimit&) const = default;
};

}  // namespace courier
