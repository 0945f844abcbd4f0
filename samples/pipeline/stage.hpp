#pragma once
/// @file
/// What the pipeline's three stages do alike: their config (pipe: between the stages by
/// default), starting the next stage as a child process, naming themselves, and measuring
/// their own peak memory.

#include <courier/courier.hpp>

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pipeline {

/// A stage's node is named after its program and process id, its actor after the id: the
/// parent that started it knows both without asking anyone, and two pipelines can run on
/// one host at once.
std::string node_of(std::string_view program, pid_t pid);
std::string actor_of(pid_t pid);

/// The user's config (`--config`, else `$COURIER_CONFIG`; `$COURIER_TRANSPORT`), with one
/// rule added after theirs: a link between two of the pipeline's processes goes over
/// pipe:. A rule of theirs that matches first, or COURIER_TRANSPORT, decides instead.
courier::Config stage_config(const std::string& config_file);

/// A stage's node: named by node_of, one worker thread (a stage has one actor), its
/// config from stage_config.
courier::NodeOptions stage_options(std::string_view program, const std::string& config_file);

/// The next stage, running as this process's child.
struct Downstream {
    courier::ChildProcess process;
    std::string node;   ///< its node's name
    std::string actor;  ///< the actor that takes the records
};

/// Starts `argv` as the next stage (empty: the program `fallback` next to this one) and
/// waits until its actor is registered. The child inherits its end of the link when the
/// link is pipe:, and gets SIGTERM if this process dies first. Throws std::runtime_error
/// when the child exits or its actor does not appear within 10 s.
Downstream start_downstream(courier::Node& node, std::vector<std::string> argv,
                            std::string_view fallback);

/// "pipe (rule \"pipeline-* -> pipeline-*\")": the transport of a link, and why it has it.
std::string describe(const courier::LinkInfo& link);

/// This process's peak resident memory so far (VmHWM in /proc/self/status), in MiB.
double peak_memory_mib();

/// steady_clock now, in nanoseconds: comparable between the processes of a host.
std::int64_t now_ns();

}  // namespace pipeline
