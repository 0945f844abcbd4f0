#pragma once
/// @file
/// An actor's recent restarts, to hold them to its RestartLimit: a handler that throws on
/// every letter must end up escalated, not restarting forever.

#include <courier/framework/failure_policy.hpp>

#include <chrono>
#include <cstddef>
#include <deque>

namespace courier::detail {

class RestartWindow {
  public:
    using Clock = std::chrono::steady_clock;

    /// True, and counted, when one more restart at `now` keeps within `limit`: fewer than
    /// limit.restarts in the `limit.within` before it. False, and not counted, past it.
    bool admit(Clock::time_point now, const RestartLimit& limit) {
        while (!times_.empty() && now - times_.front() >= limit.within) times_.pop_front();
        if (times_.size() >= limit.restarts) return false;
        times_.push_back(now);
        return true;
    }
    /// The restarts counted within the window as of the last admit().
    std::size_t recent() const noexcept { return times_.size(); }

  private:
    std::deque<Clock::time_point> times_;  ///< oldest first; at most limit.restarts
};

}  // namespace courier::detail
