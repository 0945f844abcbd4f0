#pragma once
/// @file
/// A blocking client of etcd's v3 API through its JSON gateway (`/v3/...`, etcd 3.4 and
/// later): what courierd's etcd mode needs (docs/multihost.md) and nothing more. Keys and
/// values are bytes; the gateway carries them in base64, which this class hides.
///
/// Why the gateway over HTTP/1.1 and not gRPC: it needs only cpp-httplib and
/// nlohmann-json, which courier already uses, where gRPC would add libgrpc++ and protobuf
/// code generation to the build for a dozen calls, none of them on a message's path.
///
/// One instance serves one thread. Every call throws EtcdError when etcd cannot be
/// reached, times out, or refuses; the next call tries the next endpoint.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace courier::registry {

struct EtcdError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class EtcdClient {
  public:
    struct KeyValue {
        std::string key;
        std::string value;
        std::int64_t create_revision = 0;
        std::int64_t mod_revision = 0;
        std::int64_t lease = 0;
    };
    struct Event {
        bool put = true;  ///< false: the key was deleted (by a delete or its lease's end)
        KeyValue kv;
    };
    struct Range {
        std::int64_t revision = 0;  ///< the store's revision the range was read at
        std::vector<KeyValue> kvs;
    };

    /// `endpoints`: "http://host:port" each; `timeout`: for connecting and for each answer.
    EtcdClient(std::vector<std::string> endpoints, std::chrono::milliseconds timeout);
    ~EtcdClient();
    EtcdClient(const EtcdClient&) = delete;
    EtcdClient& operator=(const EtcdClient&) = delete;

    /// A new lease of `ttl`; its id.
    std::int64_t grant(std::chrono::seconds ttl);
    /// Renews lease `id`; false when it has expired (or never was).
    bool keep_alive(std::int64_t id);
    /// Ends lease `id` now, and so every key under it.
    void revoke(std::int64_t id);

    void put(const std::string& key, const std::string& value, std::int64_t lease = 0);
    /// Puts `key` only if it does not exist, in one transaction: nullopt when it was
    /// created, else what the key holds.
    std::optional<KeyValue> create(const std::string& key, const std::string& value,
                                   std::int64_t lease = 0);
    /// Deletes `key`; false when there was none.
    bool erase(const std::string& key);
    /// Every key that starts with `prefix`, and the revision they were read at.
    Range range(const std::string& prefix);

    /// Streams the changes to the keys under `prefix` from `revision` on, each batch (one
    /// revision's changes together) to `on`, until stop() or an error. Returns after
    /// stop(); throws EtcdError when the stream broke or etcd refused it (a compacted
    /// revision: read a range again).
    void watch(const std::string& prefix, std::int64_t revision,
               const std::function<void(std::vector<Event>)>& on);
    /// Ends the call under way (a watch() that would wait on a connection gone silent),
    /// from another thread: it throws EtcdError, and the client goes on.
    void interrupt();
    /// Ends a watch() or any call under way, from another thread; the client makes no
    /// call after.
    void stop();

    /// The endpoint the last call used, for logs.
    const std::string& endpoint() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The end of the range of keys that start with `prefix`, as etcd wants it (`range_end`).
std::string prefix_end(const std::string& prefix);

}  // namespace courier::registry
