#pragma once
/// @file
/// The two sides of a spawn test: a parent node and courier-test-spawned-node
/// (spawned_node.cpp) as its child `kid-node`, both on one test registry.

#include "process_support.hpp"

#include <courier/courier.hpp>

#include <string>

namespace courier::test {

/// A parent node `parent-node` of `dir`'s registry with the config `toml`.
inline NodeOptions parent_options(const TempRuntimeDir& dir, const std::string& toml) {
    NodeOptions options;
    options.name = "parent-node";
    options.registry = dir.options();
    options.config = Config::parse(toml, "test.toml");
    return options;
}

/// courier-test-spawned-node as node `kid-node`, using `dir`'s registry, with
/// COURIER_TRANSPORT=`transport` in its environment.
inline ProcessOptions kid(const TempRuntimeDir& dir, const std::string& transport) {
    ProcessOptions options;
    options.argv = {(bin_dir() / "courier-test-spawned-node").string(), "kid-node", "parent-node"};
    options.environment = {"COURIER_RUNTIME_DIR=" + dir.path().string(),
                           "COURIER_COURIERD=" + (bin_dir() / "courierd").string(),
                           "COURIER_TRANSPORT=" + transport};
    options.node = "kid-node";
    return options;
}

}  // namespace courier::test
