#pragma once
/// @file
/// What dead processes left (queues, segments, FIFOs): `courier clean` removes it, and
/// `courier ps` mentions it.

#include "registry/registry_protocol.hpp"

#include <string>

namespace courier::cli {

/// Prints a line saying how many objects dead processes left, if any. `nodes` (may be
/// null) adds the directories of their fifo: endpoints to where FIFOs are looked for.
void mention_orphans(const std::string& runtime_dir, const registry::NodeList* nodes);

}  // namespace courier::cli
