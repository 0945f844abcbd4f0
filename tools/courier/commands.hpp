#pragma once
/// @file
/// The subcommands of `courier`, one function each (one file each); main.cpp parses the
/// command line and calls one. Each returns the process's exit status.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace courier::cli {

/// The registered nodes, their names, fullest mailboxes and dead letters.
int ps(const std::string& runtime_dir, bool json);
/// The actor groups and their members.
int groups(const std::string& runtime_dir, bool json);
/// Every open link of every node, the dead letters and the mailboxes.
int links(const std::string& runtime_dir, bool json);
/// Removes (or with `dry_run` lists) what dead processes left.
int clean(const std::string& runtime_dir, bool dry_run);

struct TopOptions {
    std::string runtime_dir;
    std::chrono::milliseconds interval{1000};
    /// Views to show, then exit; 0: until `q` (on a terminal) or a signal.
    int iterations = 0;
    /// Plain text even on a terminal.
    bool plain = false;
};
/// A live view of every node and link: rates, depths, dead letters, drops, restarts.
int top(const TopOptions& options);

struct PingOptions {
    std::string runtime_dir;
    std::string name;
    int count = 4;
    std::chrono::milliseconds interval{1000};
    std::chrono::milliseconds timeout{2000};
};
/// Round trips to the actor `name` (every actor answers a PingRequest).
int ping(const PingOptions& options);

struct PlaceOptions {
    std::string runtime_dir;
    std::string host;
    std::string program;            ///< a name of the host's [registry.placeable]
    std::vector<std::string> args;  ///< after the config's own (if it allows extra_args)
    std::chrono::milliseconds timeout{5000};
};
/// Starts `program` on `host` through its courierd; prints the pid.
int place(const PlaceOptions& options);

struct UnplaceOptions {
    std::string runtime_dir;
    std::string host;
    std::int64_t pid = 0;
    bool kill = false;  ///< SIGKILL, else SIGTERM
    std::chrono::milliseconds timeout{5000};
};
/// Stops a program placed on `host`.
int unplace(const UnplaceOptions& options);

/// Replaces this process with courier-bench, passing `args` on.
int bench(const std::vector<std::string>& args);

}  // namespace courier::cli
