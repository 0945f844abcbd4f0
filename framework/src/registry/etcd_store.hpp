#pragma once
/// @file
/// courierd's threads in etcd mode (docs/multihost.md): they talk to etcd, which may be
/// slow or away, so the reactor never waits on it.
///
/// - The keeper holds this host's lease: it grants one, puts the host's key and every key
///   this host owns under it, renews it every third of its TTL, and carries out the
///   claims, puts and erases the reactor asks for, in order. When the lease is lost (etcd
///   was away longer than its TTL), it grants a new one and puts every owned key again.
/// - The follower reads every key under the prefix, then watches them from there on; when
///   the watch breaks, it reads them all again.
///
/// What they learn goes to the Sink's functions, called on these threads: the owner posts
/// it to the reactor. Failures are logged when they change, not at every try.

#include "registry/etcd_client.hpp"

#include <chrono>
#include <condition_variable>
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
    /// Sink::claimed. A key claimed is owned (put again under a new lease).
    void claim(std::uint64_t token, std::string key, std::string value);
    /// Puts `key` under this host's lease, and owns it.
    void put(std::string key, std::string value);
    /// Erases `key`, which this host no longer owns.
    void erase(std::string key);

  private:
    struct Op {
        enum class Kind { claim, put, erase } kind;
        std::string key;
        std::string value;
        std::uint64_t token = 0;
    };
    void keep();
    void follow();
    /// Runs `op` under `lease`; throws EtcdError.
    void run(EtcdClient& client, std::int64_t lease, const Op& op);
    /// Waits `pause` or until stopped; false when stopped.
    bool pause(std::chrono::milliseconds pause);

    const Settings settings_;
    const Sink sink_;
    EtcdClient follower_client_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Op> ops_;                        ///< under mutex_
    bool stopping_ = false;                     ///< under mutex_
    std::map<std::string, std::string> owned_;  ///< the keeper's: put under each new lease
    std::jthread keeper_;
    std::jthread follower_;
};

}  // namespace courier::registry
