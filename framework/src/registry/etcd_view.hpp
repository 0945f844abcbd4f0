#pragma once
/// @file
/// The etcd mode's keys (docs/protocol.md, "In etcd"), and what courierd makes of those of
/// the other hosts. Under the configured prefix:
///
///     hosts/<host>                    a host, while its courierd's lease lives
///     names/<name>                    a name, one in the cluster: its host and entry
///     members/<host>/<group>/<name>   a member of a group
///
/// Every key lives under its host's lease, so a host whose courierd is gone for a lease's
/// TTL loses them all at once. Values are JSON, for whoever reads them with etcdctl. A
/// name or a member that ends is first put again with its reason ("down", "left"), then
/// erased: the reason reaches the other hosts as it does in the static mode.
///
/// The view follows the keys of the other hosts, from whole snapshots (after connecting)
/// and from watch events, and tells each change to its Listener as the host protocol's
/// messages (host_protocol.hpp), so that courierd applies them as it applies what a peer
/// host tells it. It runs on the reactor thread.

#include "registry/etcd_client.hpp"
#include "registry/host_protocol.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace courier::registry {

class EtcdView {
  public:
    class Listener {
      public:
        /// A host came: its names and memberships (joins, in join order), and where its
        /// courierd listens for other hosts (empty: nowhere).
        virtual void host_up(const HostNames& all, const std::string& courierd) = 0;
        /// A host's key went (its lease ended): all its names and memberships with it.
        virtual void host_gone(const std::string& host) = 0;
        virtual void name_up(const std::string& host, const HostName& entry) = 0;
        virtual void name_down(const std::string& host, const HostNameDown& down) = 0;
        virtual void group_change(const std::string& host, const GroupChange& change) = 0;

      protected:
        ~Listener() = default;
    };

    /// `prefix`: the keys' ("/courier"); `own_host`: this host, whose keys it skips.
    EtcdView(std::string prefix, std::string own_host, Listener& listener);

    /// Everything under the prefix, read afresh: tells what changed since the last view.
    void snapshot(const std::vector<EtcdClient::KeyValue>& kvs);
    void events(std::vector<EtcdClient::Event> events);
    /// etcd cannot be reached: every other host is taken as gone until it can.
    void lost();

    // ---- this host's own keys and values ----

    const std::string& prefix() const noexcept { return prefix_; }
    std::string host_key(const std::string& host) const;
    std::string name_key(const std::string& name) const;
    std::string member_key(const std::string& host, const std::string& group,
                           const std::string& name) const;
    /// `courierd`: where this host's courierd listens for other hosts (empty: nowhere).
    static std::string host_value(const std::string& host, const std::string& courierd = {});
    /// `down`: the reason it ends, put just before it is erased.
    static std::string name_value(const std::string& host, const HostName& entry,
                                  const std::string& down = {});
    static std::string member_value(const GroupMember& member, const std::string& left = {});
    /// The host a name's value says holds it; nullopt for a value that is no name's.
    static std::optional<std::string> host_of_name(const std::string& value);

  private:
    struct Member {
        std::int64_t joined_at = 0;  ///< its key's create revision: the join order
        GroupMember member;
    };
    struct Host {
        bool present = false;
        std::string courierd;  ///< where its courierd listens; empty: nowhere
        std::map<std::string, HostName> names;
        std::map<std::pair<std::string, std::string>, Member> members;  ///< (group, name)
    };
    struct State {
        std::map<std::string, Host> hosts;
        std::map<std::string, std::string> name_hosts;  ///< name -> the host holding it
    };

    /// Applies one key's change to `state`; tells the listener when `tell`.
    void apply(State& state, const EtcdClient::Event& event, bool tell);
    void tell_up(const std::string& host, const Host& h);
    /// Ends the name `name` that `host` holds in `state`, with `reason`.
    void end_name(State& state, const std::string& host, const std::string& name,
                  const std::string& reason, bool tell);

    const std::string prefix_;
    const std::string own_;
    Listener& listener_;
    State state_;
};

}  // namespace courier::registry
