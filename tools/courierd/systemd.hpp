#pragma once
/// @file
/// courierd under systemd: the listening socket a socket unit passes it, and the state it
/// reports to a Type=notify service (docs/registry.md, "Running under systemd").

#include <courier/fd.hpp>

#include <filesystem>
#include <optional>

namespace courierd {

/// The listening socket systemd passed (LISTEN_FDS, LISTEN_PID), or nullopt when it passed
/// none: then courierd binds its own. Throws std::runtime_error, saying what is wrong and
/// what to change, when it passed more than one, or one that is not a listening AF_UNIX
/// stream socket bound at `socket_path` (where nodes look for the registry).
std::optional<courier::Fd> socket_from_systemd(const std::filesystem::path& socket_path);

/// Tells the service manager `state` ("READY=1", "STOPPING=1") when it supervises us
/// (NOTIFY_SOCKET); does nothing otherwise.
void notify_systemd(const char* state) noexcept;

}  // namespace courierd
