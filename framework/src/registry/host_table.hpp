#pragma once
/// @file
/// What courierd knows of the other hosts of its federation (docs/multihost.md): the
/// names each peer host's nodes hold, as that host told it over the connection this
/// courierd dialed (host_protocol.hpp), and which connections from other hosts subscribed
/// to this host's names. The NameTable consults it for the names it does not hold and
/// applies the changes it returns; the server owns the connections.

#include "registry/host_protocol.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace courier::registry {

using ConnectionId = std::uint64_t;

class HostTable {
  public:
    using Clock = std::chrono::steady_clock;
    /// The names one host may hold here by default; a host that tells of more breaks the
    /// protocol. Bounded, as everything a connection can grow in courierd.
    static constexpr std::size_t default_max_names = std::size_t{1} << 20;

    /// `host`: this host's name. Peer hosts resolve a plain name in the order of their
    /// `order` (the place of their endpoint in the config's list). `max_names`: the names
    /// one host may hold here (smaller in tests, which fill it).
    explicit HostTable(std::string host, std::size_t max_names = default_max_names)
        : host_(std::move(host)), max_names_(max_names) {}

    const std::string& host() const noexcept { return host_; }

    // ---- this host's names, told to the hosts that subscribed ----

    void subscribe(ConnectionId downstream) { subscribers_.insert(downstream); }
    bool subscribed(ConnectionId id) const { return subscribers_.contains(id); }
    const std::set<ConnectionId>& subscribers() const noexcept { return subscribers_; }

    // ---- the names of the hosts this courierd dialed ----

    /// One name of another host: which host, its place in the order, and the entry.
    struct Remote {
        std::string host;
        std::size_t order = 0;
        HostName entry;
    };
    /// A name of another host that came (up) or went (with `reason`).
    struct Change {
        Remote remote;
        bool up = false;
        std::string reason;
    };

    /// Connection `upstream` was dialed to the peer at place `order` of the config's list,
    /// whose courierd listens at `address` (empty: unknown).
    void dialed(ConnectionId upstream, std::size_t order, Clock::time_point now,
                std::string address = {});
    bool is_upstream(ConnectionId id) const { return upstream_.contains(id); }

    /// The peer's answer: its host name and all its names. Throws ProtocolViolation for a
    /// host name that is ours or another connection's.
    std::vector<Change> names_of(ConnectionId upstream, const HostNames& all);
    std::vector<Change> name_up(ConnectionId upstream, const HostName& entry);
    std::vector<Change> name_down(ConnectionId upstream, const HostNameDown& down);
    /// Anything arrived from `upstream` at `now` (its silence is counted from there).
    void heard(ConnectionId upstream, Clock::time_point now);
    /// The upstream connections silent since before `since`: their hosts are taken as gone.
    std::vector<ConnectionId> silent_since(Clock::time_point since) const;

    /// Forgets connection `id` as it closes: a subscriber, or a peer host whose names all
    /// go (with `reason`).
    std::vector<Change> forget(ConnectionId id, const std::string& reason);

    /// The first host, in order, whose nodes hold `actor`; or only `host`'s.
    std::optional<Remote> find(const std::string& actor) const;
    std::optional<Remote> find(const std::string& actor, const std::string& host) const;
    /// True when no host before `order` holds `actor` (`order`'s is the one a plain name
    /// resolves to, when this host holds none).
    bool first_holder(const std::string& actor, std::size_t order) const;
    /// The host of connection `id`, empty until it answered.
    std::string host_of(ConnectionId id) const;
    /// Where the courierd of `host` listens, as given to dialed(); nullopt when no
    /// connection to that host has answered (the host is not up), empty when unknown.
    std::optional<std::string> address_of(const std::string& host) const;

  private:
    struct Upstream {
        std::size_t order = 0;
        std::string host;     ///< empty until HostNames
        std::string address;  ///< where its courierd listens; empty: unknown
        Clock::time_point heard{};
        std::map<std::string, HostName> names;
    };
    Upstream& upstream(ConnectionId id);
    Remote remote(const Upstream& u, const HostName& entry) const {
        return {u.host, u.order, entry};
    }

    std::string host_;
    std::size_t max_names_;
    std::set<ConnectionId> subscribers_;
    std::map<ConnectionId, Upstream> upstream_;
};

}  // namespace courier::registry
