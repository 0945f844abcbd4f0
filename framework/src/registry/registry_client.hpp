#pragma once
/// @file
/// A connection to the per-host registry `courierd`, starting it when none runs.
///
/// Calls are synchronous and thread-safe; each waits for its answer with a deadline.
/// Errors: a registry that cannot be reached or started, or a broken connection,
/// throws RegistryError; a refusal by the registry (name taken) is a Status value.

#include "registry/placement_protocol.hpp"
#include "registry/registry_error.hpp"
#include "registry/registry_protocol.hpp"

#include <courier/framework/registry_options.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace courier {

class RegistryClient {
  public:
    /// Connects (starting courierd if allowed and needed). Throws RegistryError.
    explicit RegistryClient(RegistryOptions options = {});
    ~RegistryClient();
    RegistryClient(const RegistryClient&) = delete;
    RegistryClient& operator=(const RegistryClient&) = delete;

    /// The first registration connects again, once, if the connection broke before it
    /// (a courierd exiting on idle as we connected: no registered node keeps it up).
    registry::Status register_node(const std::string& node,
                                   const std::vector<std::string>& endpoints);
    registry::Status register_name(const std::string& name);
    registry::Status unregister_name(const std::string& name);
    /// Resolves `name`; with `wait` > 0, waits up to that long for it to be registered.
    registry::Location lookup(const std::string& name,
                              std::chrono::milliseconds wait = std::chrono::milliseconds{0});
    /// Asks for a NameDown for `name`, delivered to the handler given to on_name_down;
    /// answers who holds the name now (found = false: its NameDown comes at once).
    registry::Location watch(const std::string& name);
    registry::NodeList list_nodes();

    /// Groups (registry_protocol.hpp): `member` is a name this client's node registered.
    registry::Status join_group(const std::string& group, const std::string& member);
    registry::Status leave_group(const std::string& group, const std::string& member);
    registry::GroupList list_group(const std::string& group);
    /// Lists the group and asks for its GroupChanges, delivered to on_group_change.
    registry::GroupList watch_group(const std::string& group);
    registry::Status unwatch_group(const std::string& group);
    registry::GroupDirectory list_groups();

    /// Placement (placement_protocol.hpp): where host `host`'s courierd listens.
    registry::HostAddress lookup_host(const std::string& host);

    /// Inspection (registry_protocol.hpp): what node `node` says of itself, asked through
    /// courierd; and a node's answer to courierd's question `ask`.
    registry::Inspection inspect_node(const std::string& node);
    registry::Status answer_inspection(std::uint64_t ask, const LinkList& list);

    /// Called on the client's reader thread for every NameDown. Set before watching.
    /// Handlers must not call back into this client (its answers arrive on that thread).
    void on_name_down(std::function<void(const registry::NameDown&)> handler);
    /// Called on the reader thread for every NameUp: a name a lookup did not find (with
    /// Location::notify_up) is registered now. Set before looking up; as on_name_down.
    void on_name_up(std::function<void(const registry::NameUp&)> handler);
    /// Called on the reader thread for every GroupChange of a watched group; as on_name_down.
    void on_group_change(std::function<void(const registry::GroupChange&)> handler);
    /// Called on the reader thread for every Inspect: courierd passes on a tool's question;
    /// answer it with answer_inspection, from another thread. As on_name_down.
    void on_inspect(std::function<void(const registry::Inspect&)> handler);
    /// Called on the reader thread if the connection to the registry breaks.
    void on_disconnect(std::function<void(const std::string& reason)> handler);
    /// With a handler set, a broken connection is made again (a courierd started if none
    /// runs; tried every 100 ms until the client goes), and then the handler is called on
    /// the reader thread: it must hand the work of re-registering to another thread, since
    /// the answers to its calls arrive on that one. Calls made while the connection is
    /// down throw RegistryError at once.
    void on_reconnect(std::function<void()> handler);

    const std::filesystem::path& runtime_dir() const noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace courier
