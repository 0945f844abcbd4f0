#pragma once
/// @file
/// Who made an IPC object: a process, told apart from a later one that reuses its pid by
/// the time it started. Every named object a transport creates carries its owner in its
/// name, `<base>.<pid>@<start>.<n>` (and `.up`/`.down` for one direction of a link), so
/// whoever finds the object can tell whether its maker still runs (orphans.hpp).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace courier {

/// One process, for as long as it runs.
struct Owner {
    pid_t pid = 0;
    std::uint64_t start = 0;  ///< clock ticks after boot: /proc/<pid>/stat, field 22

    /// This process (looked up again after a fork).
    static Owner self();
    /// The process that runs as `pid` now; nullopt when none does, or only a zombie.
    static std::optional<Owner> of(pid_t pid);
    /// "<pid>@<start>", as names carry it.
    std::string tag() const;
    /// Reads tag(); nullopt for anything else.
    static std::optional<Owner> parse(std::string_view tag);

    /// While this very process runs: not once it is a zombie, nor when its pid is reused.
    bool alive() const { return of(pid) == *this; }
    bool operator==(const Owner&) const = default;
};

/// Whether some process runs as `pid` (a zombie does not). For owners the kernel records
/// by pid alone (System V queues).
bool process_running(pid_t pid);

/// A name made by owned_name(): what it was made for, by whom.
struct OwnedName {
    std::string base;
    Owner owner;
};
/// "<base>.<pid>@<start>.<n>": the n-th name `owner` makes for `base`.
std::string owned_name(const std::string& base, const Owner& owner, unsigned n);
/// Reads a name made by owned_name(), with ".up" or ".down" after it or not; nullopt for
/// any other name.
std::optional<OwnedName> parse_owned_name(std::string_view name);

}  // namespace courier
