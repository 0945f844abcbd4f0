#include "registry/etcd_store.hpp"

#include <courier/log.hpp>

#include <spdlog/spdlog.h>

namespace courier::registry {

namespace {

/// Logs a failure when it differs from the last one; returns the new last one.
void log_failure(const char* what, const EtcdError& e, std::string& last,
                 std::chrono::milliseconds redial) {
    if (e.what() == last) return;
    last = e.what();
    log().warn("etcd: {}: {} (trying again every {} ms)", what, last, redial.count());
}

}  // namespace

EtcdStore::EtcdStore(Settings settings, Sink sink)
    : settings_(std::move(settings)),
      sink_(std::move(sink)),
      follower_client_(settings_.endpoints, settings_.timeout) {
    keeper_ = std::jthread([this] { keep(); });
    follower_ = std::jthread([this] { follow(); });
}

EtcdStore::~EtcdStore() {
    {
        std::lock_guard held(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    follower_client_.stop();
    follower_.join();
    keeper_.join();
}

bool EtcdStore::claim(std::uint64_t token, std::string key, std::string value) {
    std::lock_guard held(mutex_);
    if (claims_.size() >= settings_.max_claims) return false;
    claims_.push_back({token, std::move(key), std::move(value)});
    changed_.notify_all();
    return true;
}

void EtcdStore::dirty(const std::string& key, std::string last) {
    if (last.empty())
        ended_.erase(key);
    else
        ended_[key] = std::move(last);
    // Once in the list is enough: the keeper writes what the key is when it gets to it.
    if (dirty_versions_[key]++ == 0) dirty_.push_back(key);
    changed_.notify_all();
}

void EtcdStore::put(std::string key, std::string value) {
    std::lock_guard held(mutex_);
    owned_[key] = std::move(value);
    dirty(key, {});
}

void EtcdStore::end(std::string key, std::string last) {
    std::lock_guard held(mutex_);
    owned_.erase(key);
    dirty(key, std::move(last));
}

bool EtcdStore::pause(std::chrono::milliseconds pause) {
    std::unique_lock held(mutex_);
    return !changed_.wait_for(held, pause, [this] { return stopping_; });
}

bool EtcdStore::write_one(EtcdClient& client, std::int64_t lease) {
    std::unique_lock held(mutex_);
    if (!claims_.empty()) {
        const Claim claim = claims_.front();
        held.unlock();
        auto holder = client.create(claim.key, claim.value, lease);
        held.lock();
        claims_.pop_front();  // only once done: after a failure it is tried again
        if (!holder) owned_[claim.key] = claim.value;
        held.unlock();
        sink_.claimed(claim.token, std::move(holder));
        return true;
    }
    if (dirty_.empty()) return false;
    const std::string key = dirty_.front();
    const std::uint64_t version = dirty_versions_[key];
    const auto owned = owned_.find(key);
    const std::optional<std::string> value =
        owned == owned_.end() ? std::nullopt : std::optional<std::string>(owned->second);
    const auto ended = ended_.find(key);
    const std::string last = ended == ended_.end() ? std::string{} : ended->second;
    held.unlock();
    if (value) {
        client.put(key, *value, lease);
    } else {
        if (!last.empty()) client.put(key, last, lease);
        client.erase(key);
    }
    held.lock();
    // A key that changed while it was written stays first, to be written again.
    if (dirty_versions_[key] == version) {
        dirty_versions_.erase(key);
        dirty_.pop_front();
        ended_.erase(key);
    }
    return true;
}

void EtcdStore::keep() {
    EtcdClient client(settings_.endpoints, settings_.timeout);
    const auto renew_every =
        std::chrono::duration_cast<std::chrono::milliseconds>(settings_.ttl) / 3;
    std::int64_t lease = 0;
    auto renew_at = std::chrono::steady_clock::now();
    auto answered = std::chrono::steady_clock::now();  // etcd's last answer
    bool told_unreachable = false;
    std::string last_error;
    for (;;) {
        try {
            if (lease == 0) {
                lease = client.grant(settings_.ttl);
                client.put(settings_.host_key, settings_.host_value, lease);
                std::map<std::string, std::string> owned;
                {
                    std::lock_guard held(mutex_);
                    owned = owned_;
                }
                for (const auto& [key, value] : owned) client.put(key, value, lease);
                log().info("etcd at {}: this host holds lease {:x} ({} s) and {} keys under it",
                           client.endpoint(), lease, settings_.ttl.count(), owned.size() + 1);
                renew_at = std::chrono::steady_clock::now() + renew_every;
            }
            if (std::chrono::steady_clock::now() >= renew_at) {
                if (!client.keep_alive(lease)) {
                    log().warn(
                        "etcd at {}: lease {:x} has expired, and this host's keys with it: "
                        "putting them again under a new one",
                        client.endpoint(), lease);
                    lease = 0;
                    continue;
                }
                renew_at = std::chrono::steady_clock::now() + renew_every;
            }
            answered = std::chrono::steady_clock::now();
            if (!last_error.empty()) log().info("etcd at {} answers again", client.endpoint());
            last_error.clear();
            told_unreachable = false;
            if (write_one(client, lease)) continue;
            std::unique_lock held(mutex_);
            changed_.wait_until(held, renew_at, [this] {
                return stopping_ || !claims_.empty() || !dirty_.empty();
            });
            if (stopping_) break;
        } catch (const EtcdError& e) {
            log_failure("keeping this host's keys", e, last_error, settings_.redial);
            if (!told_unreachable && std::chrono::steady_clock::now() - answered >= settings_.ttl) {
                told_unreachable = true;
                sink_.unreachable();
                follower_client_.interrupt();  // a watch on a silent connection: read again
            }
            if (!pause(settings_.redial)) break;
        }
    }
    if (lease == 0) return;
    try {
        client.revoke(lease);
    } catch (const EtcdError& e) {
        log().warn("etcd: revoking this host's lease: {}; its keys go when it expires", e.what());
    }
}

void EtcdStore::follow() {
    std::string last_error;
    for (;;) {
        try {
            auto range = follower_client_.range(settings_.prefix);
            const auto revision = range.revision;
            sink_.snapshot(std::move(range));
            if (!last_error.empty())
                log().info("etcd at {}: following the cluster again", follower_client_.endpoint());
            last_error.clear();
            follower_client_.watch(settings_.prefix, revision + 1, sink_.events);
            return;  // only stop() ends a watch without an error
        } catch (const EtcdError& e) {
            {
                std::lock_guard held(mutex_);
                if (stopping_) return;
            }
            log_failure("following the cluster", e, last_error, settings_.redial);
            if (!pause(settings_.redial)) return;
        }
    }
}

}  // namespace courier::registry
