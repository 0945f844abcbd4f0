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

void EtcdStore::claim(std::uint64_t token, std::string key, std::string value) {
    std::lock_guard held(mutex_);
    ops_.push_back({Op::Kind::claim, std::move(key), std::move(value), token});
    changed_.notify_all();
}

void EtcdStore::put(std::string key, std::string value) {
    std::lock_guard held(mutex_);
    ops_.push_back({Op::Kind::put, std::move(key), std::move(value), 0});
    changed_.notify_all();
}

void EtcdStore::erase(std::string key) {
    std::lock_guard held(mutex_);
    ops_.push_back({Op::Kind::erase, std::move(key), {}, 0});
    changed_.notify_all();
}

bool EtcdStore::pause(std::chrono::milliseconds pause) {
    std::unique_lock held(mutex_);
    return !changed_.wait_for(held, pause, [this] { return stopping_; });
}

void EtcdStore::run(EtcdClient& client, std::int64_t lease, const Op& op) {
    switch (op.kind) {
        case Op::Kind::claim: {
            auto holder = client.create(op.key, op.value, lease);
            if (!holder) owned_[op.key] = op.value;
            sink_.claimed(op.token, std::move(holder));
            break;
        }
        case Op::Kind::put:
            client.put(op.key, op.value, lease);
            owned_[op.key] = op.value;
            break;
        case Op::Kind::erase:
            client.erase(op.key);
            owned_.erase(op.key);
            break;
    }
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
                for (const auto& [key, value] : owned_) client.put(key, value, lease);
                log().info("etcd at {}: this host holds lease {:x} ({} s) and {} keys under it",
                           client.endpoint(), lease, settings_.ttl.count(), owned_.size() + 1);
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
            std::optional<Op> op;
            {
                std::unique_lock held(mutex_);
                changed_.wait_until(held, renew_at, [this] { return stopping_ || !ops_.empty(); });
                if (stopping_) break;
                if (!ops_.empty()) op = ops_.front();
            }
            if (!op) continue;
            run(client, lease, *op);
            std::lock_guard held(mutex_);
            ops_.pop_front();  // only once done: after a failure it is tried again
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
