#pragma once
/// @file
/// The inside of a Node, for the tests that hand it letters as a link would.

#include "node_core.hpp"

#include <courier/framework/node.hpp>

namespace courier::detail {

struct NodeAccess {
    static NodeCore& core(Node& node) noexcept { return *node.core_; }
};

}  // namespace courier::detail
