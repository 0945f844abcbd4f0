#pragma once
/// @file
/// The inside of a Node, for the tests that hand it letters as a link would.

#include "node_core.hpp"

#include <courier/framework/node.hpp>

#include <memory>

namespace courier::detail {

struct NodeAccess {
    static NodeCore& core(Node& node) noexcept { return *node.core_; }
    /// A node whose actors run only in Scheduler::run_one and whose timers fire only in
    /// Reactor::advance (tests/support/stepped_node.hpp).
    static std::unique_ptr<Node> stepped(NodeOptions options) {
        return std::unique_ptr<Node>(new Node(std::move(options), SteppedByHand{}));
    }
};

}  // namespace courier::detail
