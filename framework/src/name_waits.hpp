#pragma once
/// @file
/// Waiting for a name to be registered without blocking a thread: a Lookup that finds
/// nothing earns the node's registry connection a NameUp when the name comes up, and the
/// callbacks waiting for that name run then. (The Supervisor counts a child started once
/// its names are up.)
///
/// The callback is in the table before the Lookup is sent, so a NameUp that overtakes
/// the Lookup's answer on the registry's reader thread still finds it.

#include "registry/registry_protocol.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace courier::detail {

class NodeCore;

class NameWaits {
  public:
    /// Runs on the registry's reader thread; it must not call the registry.
    using Callback = std::function<void(const registry::NameUp&)>;

    explicit NameWaits(NodeCore& node) noexcept : node_(node) {}

    /// What the Lookup said now, and the wait it left.
    struct Started {
        registry::Location now;  ///< found: who holds the name now (no callback will run)
        /// The wait, for cancel(); 0 when no callback will run: the name was found, or
        /// courierd promised no NameUp (too many promised), or the node has no registry.
        std::uint64_t id = 0;
    };
    /// Looks `name` up; if it is not registered, `callback` runs once when it is, unless
    /// cancelled first. Throws RegistryError when the registry cannot be reached.
    Started await(const std::string& name, Callback callback);
    /// Drops a wait; its callback does not run after this returns.
    void cancel(std::uint64_t id) noexcept;
    /// The registry says `up.name` is registered now (its reader thread).
    void name_up(const registry::NameUp& up);

  private:
    NodeCore& node_;
    std::mutex mutex_;
    /// Only callbacks run outside mutex_; cancel() waits for one that runs.
    std::mutex running_;
    std::uint64_t next_id_ = 0;
    struct Wait {
        std::string name;
        Callback callback;
    };
    std::map<std::uint64_t, Wait> waits_;
};

}  // namespace courier::detail
