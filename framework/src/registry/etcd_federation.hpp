#pragma once
/// @file
/// courierd's etcd mode (docs/multihost.md): the cluster's names are kept in etcd, not
/// told between courierds. This joins the three parts to the NameTable, on the reactor
/// thread:
///   - this host's names and memberships go to etcd as keys under its lease (EtcdStore);
///     a name is registered only once etcd's transaction gave it to this host, so a name
///     is held once in the cluster;
///   - what the store reads of the other hosts' keys goes through the EtcdView, which
///     tells the NameTable each change as a peer host of the static mode would.

#include "reactor.hpp"
#include "registry/etcd_store.hpp"
#include "registry/etcd_view.hpp"
#include "registry/name_table.hpp"
#include "registry/registry_server.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace courier::registry {

class EtcdFederation final : public Cluster, private EtcdView::Listener {
  public:
    struct Options {
        std::vector<std::string> endpoints;  ///< "http://host:port"
        std::string prefix = "/courier";
        std::chrono::seconds ttl{2};  ///< of this host's lease: how soon the others see it gone
        std::chrono::milliseconds redial{500};
        std::chrono::milliseconds timeout{1000};  ///< of each call to etcd
        /// A registration etcd has not answered within this is refused (the node's own
        /// call to courierd would end otherwise).
        std::chrono::milliseconds claim_timeout{3000};
        /// Where this host's courierd listens for other hosts, told to them (placement).
        std::string listen;
    };
    /// The options a courierd's federation settings give, its listener at `listen`: the
    /// lease lasts host_down, in whole seconds, 2 at least.
    static Options options_of(const FederationOptions& federation, std::string listen);

    /// Makes one into `into` on `reactor`'s thread, which owns `table`, and waits for it.
    /// Throws what the constructor threw.
    static void start(std::optional<EtcdFederation>& into, Options options, NameTable& table,
                      detail::Reactor& reactor);
    /// Starts following and publishing; `table` joins the cluster. On the reactor thread.
    EtcdFederation(Options options, NameTable& table, detail::Reactor& reactor);
    /// Once the reactor stopped (what the store posts to it then never runs): stops the
    /// store's threads and revokes the lease, so this host's keys go at once.
    ~EtcdFederation();
    EtcdFederation(const EtcdFederation&) = delete;
    EtcdFederation& operator=(const EtcdFederation&) = delete;

    // Cluster: this host's names and memberships.
    void claim(const HostName& entry, std::function<void(const std::string&)> done) override;
    void name_up(const HostName& entry) override;
    void name_down(const HostName& entry, const std::string& reason) override;
    void group_change(const GroupChange& change) override;

  private:
    // EtcdView::Listener: the other hosts.
    void host_up(const HostNames& all, const std::string& courierd) override;
    void host_gone(const std::string& host) override;
    void name_up(const std::string& host, const HostName& entry) override;
    void name_down(const std::string& host, const HostNameDown& down) override;
    void group_change(const std::string& host, const GroupChange& change) override;

    /// On a store thread: runs `fn` on the reactor thread.
    void post(std::function<void()> fn);
    void claimed(std::uint64_t token, std::optional<EtcdClient::KeyValue> holder);
    /// Ends claim `token` with `refusal` (empty: taken).
    void finish(std::uint64_t token, const std::string& refusal);

    struct Claim {
        HostName entry;
        std::function<void(const std::string&)> done;
        detail::Reactor::TimerId deadline;
    };

    const Options options_;
    NameTable& table_;
    detail::Reactor& reactor_;
    EtcdView view_;
    std::map<std::uint64_t, Claim> claims_;
    std::uint64_t next_claim_ = 1;
    std::unique_ptr<EtcdStore> store_;  ///< last: its threads see everything above
};

}  // namespace courier::registry
