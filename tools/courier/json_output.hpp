#pragma once
/// @file
/// What `courier ps`, `links` and `groups` print with --json: the same facts as their
/// tables, with every count whole, for scripts (field names are snake_case).

#include "node_protocol.hpp"
#include "registry/registry_protocol.hpp"

#include <nlohmann/json.hpp>

namespace courier::cli {

nlohmann::json json_of(const NodeStats& stats);
nlohmann::json json_of(const LinkInfo& link);
nlohmann::json json_of(const MailboxStats& box);
/// A node as the registry lists it, and, when it answered, what it said of itself.
nlohmann::json json_of(const registry::NodeInfo& node, const LinkList* answer);
nlohmann::json json_of(const registry::GroupList& group);

}  // namespace courier::cli
