#pragma once
/// @file
/// Where a host's courier objects live: the registry socket and its lock.

#include <filesystem>

namespace courier {

/// `$COURIER_RUNTIME_DIR` if set, else `$XDG_RUNTIME_DIR/courier`, else
/// `/tmp/courier-<uid>`, unless another user made that one (or it is not a directory):
/// then `$HOME/.cache/courier/run`, with a warning saying why (docs/security.md). Tests
/// point nodes at a private directory with the variable.
std::filesystem::path default_runtime_dir();

/// Creates `dir` (and parents) if missing, owner-only (0700). Throws std::system_error
/// if it cannot, or if it exists and belongs to another user (or is not a directory).
/// An existing directory of ours with looser permissions is tightened to 0700.
void ensure_runtime_dir(const std::filesystem::path& dir);

/// The registry's socket inside a runtime directory.
std::filesystem::path registry_socket_path(const std::filesystem::path& dir);

/// The lock file the running courierd holds (flock) inside a runtime directory; it also
/// holds that courierd's pid, as text.
std::filesystem::path registry_lock_path(const std::filesystem::path& dir);

}  // namespace courier
