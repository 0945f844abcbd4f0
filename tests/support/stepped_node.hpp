#pragma once
/// @file
/// A node a test steps by hand: its actors run only in step() or run(), its timers fire
/// only in advance(), both on the test's thread. So a test reads "A sent X to B; B
/// replied Y; the timer fired" with no threads racing and no sleeps. (Node::request, which
/// blocks its caller until an actor answers, has no place here: use an actor's request.)

#include "node_access.hpp"
#include "node_core.hpp"

#include <courier/courier.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace courier::testing {

class SteppedNode {
  public:
    /// A node alone (no registry), named `name`.
    explicit SteppedNode(std::string name)
        : SteppedNode([&] {
              NodeOptions options;
              options.name = std::move(name);
              return options;
          }()) {}
    /// A node alone with these options (use_registry is turned off).
    explicit SteppedNode(NodeOptions options)
        : node_(detail::NodeAccess::stepped([&] {
              options.use_registry = false;
              return std::move(options);
          }())) {}

    Node& node() noexcept { return *node_; }
    Node* operator->() noexcept { return node_.get(); }

    /// Runs the turn of the actor whose letters came first (up to 64 letters); false when
    /// no actor has any.
    bool step() { return core().scheduler().run_one(); }
    /// Runs turns until no actor has letters; returns how many ran.
    std::size_t run() { return core().scheduler().run_until_idle(); }
    /// Moves the node's clock on by `delay` and fires the timers due by then (a request's
    /// timeout puts its letter in the requester's mailbox: run() handles it). Returns how
    /// many fired.
    std::size_t advance(std::chrono::milliseconds delay) { return core().reactor().advance(delay); }

  private:
    detail::NodeCore& core() { return detail::NodeAccess::core(*node_); }

    std::unique_ptr<Node> node_;
};

}  // namespace courier::testing
