#pragma once
/// @file
/// courierd's threads in etcd mode (docs/multihost.md): they talk to etcd, which may be
/// slow or away, so the reactor never waits on it.
///
/// - The keeper holds this host's lease: it grants one, puts the host's key and every key
///   this host owns under it, renews it every third of its TTL, and carries out the
///   claims, puts and ends the reactor asks for. When the lease is lost (etcd was away
///   longer than its TTL), it grants a new one and puts every owned key again.
/// - The follower reads every key under the prefix, then watches them from there on; when
///   the watch breaks, it reads them all again.
///
/// While etcd is away, what waits is bounded: the keys this host owns, each written once
/// when etcd is back however often it changed, and at most Settings::max_claims claims.
///
/// What they learn goes to the Sink's functions, called on these threads: the owner posts
/// it to the reactor. Failures are logged when they change, not at every try.

#include "registry/etcd_client.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace courier::registry {

class EtcdStore {
  public:
    struct Settings {
        std::vector<std::string> endpoints;  ///< "http://host:port"
        std::string host_key;                ///< this host's key: present while it lives
        std::string host_value;
        std::string prefix;           ///< everything followed is under it
        std::chrono::seconds ttl{2};  ///< the lease's
        std::chrono::milliseconds redial{500};
        std::chrono::milliseconds timeout{2000};  ///< of each call to etcd
        /// Claims that may wait for etcd; past them a claim is refused at once.
        std::size_t max_claims = 1024;
    };
    struct Sink {
        /// Every key under the prefix, read after (re)connecting; events follow.
        std::function<void(EtcdClient::Range)> snapshot;
        std::function<void(std::vector<EtcdClient::Event>)> events;
        /// The claim `token` took its key (holder nullopt), or found it held.
        std::function<void(std::uint64_t token, std::optional<EtcdClient::KeyValue> holder)>
            claimed;
        /// etcd has not answered for a whole TTL: what was read of it may be stale.
        std::function<void()> unreachable;
    };

    /// Starts both threads.
    EtcdStore(Settings settings, Sink sink);
    /// Stops them; a lease this host holds is revoked, so its keys go at once.
    ~EtcdStore();
    EtcdStore(const EtcdStore&) = delete;
    EtcdStore& operator=(const EtcdStore&) = delete;

    /// Puts `key` if no one holds it, under this host's lease; the answer goes to
    /// Sink::claimed. A key claimed is owned. False when Settings::max_claims wait already.
    bool claim(std::uint64_t token, std::string key, std::string value);
    /// Owns `key` with `value`: put under this host's lease, now and under each new one.
    void put(std::string key, std::string value);
    /// No longer owns `key`: it is put with `last` first (why it ends, for whoever
    /// follows), then erased.
    void end(std::string key, std::string last);
    std::size_t max_claims() const noexcept { return settings_.max_claims; }

  private:
    struct Claim {
        std::uint64_t token = 0;
        std::string key;
        std::string value;
    };
    void keep();
    void follow();
    /// Writes the next claim or pending key under `lease`, if any; false when none
    /// waited. Throws EtcdError (it is tried again).
    bool write_one(EtcdClient& client, std::int64_t lease);
    /// Marks `key` to be written (under mutex_).
    void dirty(const std::string& key, std::string last);
    /// Waits `pause` or until stopped; false when stopped.
    bool pause(std::chrono::milliseconds pause);

    const Settings settings_;
    const Sink sink_;
    EtcdClient follower_client_;
    std::mutex mutex_;
    std::condition_variable changed_;
    // ---- under mutex_ ----
    std::map<std::string, std::string> owned_;             ///< put again under each new lease
    std::deque<std::string> dirty_;                        ///< keys to write, in order, once each
    std::map<std::string, std::uint64_t> dirty_versions_;  ///< changes of each dirty key
    std::map<std::string, std::string> ended_;  ///< dirty keys that ended: their last value
    std::deque<Claim> claims_;
    bool stopping_ = false;
    // ----
    std::jthread keeper_;
    std::jthread follower_;
};

}  // namespace courier::registry
