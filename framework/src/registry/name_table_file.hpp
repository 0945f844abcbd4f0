#pragma once
/// @file
/// What courierd keeps on disk so that a courierd started after one that died (SIGKILL,
/// a crash) knows who holds which name: every registered node with its pid, its start
/// time and its names. Written after each change, read at start; the nodes it lists
/// that still run are held for them until they connect again.

#include <courier/serialization/message_type.hpp>

#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/vector.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace courier::registry {

struct SavedNode {
    std::string node;
    std::int64_t pid = 0;
    std::uint64_t start_time = 0;  ///< process_start_time(pid) when it registered
    std::vector<std::string> endpoints;
    std::vector<std::pair<std::string, std::uint64_t>> names;  ///< name, incarnation
    template <class A>
    void serialize(A& a) {
        a(node, pid, start_time, endpoints, names);
    }
};

struct Snapshot {
    std::uint64_t next_incarnation = 0;
    std::vector<SavedNode> nodes;
    template <class A>
    void serialize(A& a) {
        a(next_incarnation, nodes);
    }
};

/// `<runtime dir>/courierd.names`.
std::filesystem::path snapshot_path(const std::filesystem::path& runtime_dir);

/// Replaces the file with `snapshot` (written aside, then renamed, mode 0600); removes it
/// when the snapshot has no node. Logs and carries on when the disk refuses.
void save_snapshot(const std::filesystem::path& file, const Snapshot& snapshot);

/// The file's snapshot; nullopt when there is none or it does not decode (logged).
std::optional<Snapshot> load_snapshot(const std::filesystem::path& file);

}  // namespace courier::registry

COURIER_MESSAGE(courier::registry::Snapshot, "courier.registry.Snapshot");
