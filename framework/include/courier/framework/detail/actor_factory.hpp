#pragma once
/// @file
/// How an actor is built again when it restarts (FailurePolicy::restart).

#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>

namespace courier {
class Actor;
}

namespace courier::detail {

/// Builds a new object for a restarting actor; empty when it cannot be built again (then
/// a restart escalates instead: actor_cell.cpp).
using ActorFactory = std::function<std::unique_ptr<Actor>()>;

/// The factory of `spawn<A>(name, args...)`: A built from copies of `args` kept at spawn
/// (std::decay_t, as std::thread keeps its arguments), each passed as a const lvalue.
/// Empty when that cannot be done: an argument that cannot be copied, or that A takes by
/// non-const or rvalue reference (std::ref(x) passes a reference that can be).
template <class A, class... Args>
ActorFactory factory_of(const Args&... args) {
    if constexpr ((std::is_copy_constructible_v<std::decay_t<Args>> && ...) &&
                  std::is_constructible_v<A, const std::decay_t<Args>&...>) {
        return [kept = std::tuple<std::decay_t<Args>...>(args...)]() -> std::unique_ptr<Actor> {
            return std::apply([](const auto&... each) { return std::make_unique<A>(each...); },
                              kept);
        };
    } else {
        return {};
    }
}

}  // namespace courier::detail
