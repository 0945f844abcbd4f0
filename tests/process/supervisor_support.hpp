#pragma once
/// @file
/// What the supervisor tests share: children made of courier-test-spawned-node, asking a
/// supervisor about them, and looking for what its children left (zombies, live pids).

#include "process_support.hpp"

#include <courier/courier.hpp>

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace courier::test {

/// A child that registers the name `id` (its node is `<id>-node`), with short backoffs;
/// `extra` are more options of courier-test-spawned-node.
ChildSpec worker(const TempRuntimeDir& dir, const std::string& id,
                 std::vector<std::string> extra = {});

/// The supervisor's node, "sup-parent", on `dir`'s registry.
NodeOptions parent_options(const TempRuntimeDir& dir);

/// The children of `supervisor` by id, from one WhichChildren answer (empty if none came).
std::map<std::string, ChildInfo> which(Node& node, const std::string& supervisor = "sup");

/// Every child in one answer running, with a pid.
bool all_running(const std::map<std::string, ChildInfo>& children, std::size_t count);
bool all_running(Node& node, std::size_t count);

/// The pids of this process's children that are zombies (state Z in /proc).
std::vector<pid_t> zombies();

/// Gone: no such process, or a zombie about to be reaped by whoever adopted it.
bool gone(pid_t pid);

/// The pid that holds `name` in `dir`'s registry, 0 if nobody does.
std::int64_t registered_pid(const TempRuntimeDir& dir, const std::string& name);

/// The lines of a child's --log file: one per process started (none if it is missing).
std::vector<std::string> log_lines(const std::filesystem::path& file);

}  // namespace courier::test
