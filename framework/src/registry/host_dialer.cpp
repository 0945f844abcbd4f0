#include "registry/host_dialer.hpp"

#include <courier/log.hpp>
#include <courier/transports/transport.hpp>

#include <spdlog/spdlog.h>

#include <pthread.h>

#include <exception>
#include <utility>

namespace courier::registry {

HostDialer::HostDialer(std::vector<Peer> peers, std::chrono::milliseconds redial, Dialed dialed)
    : peers_(std::move(peers)),
      redial_(redial),
      dialed_(std::move(dialed)),
      linked_(peers_.size(), false) {
    for (std::size_t i = 0; i < peers_.size(); ++i) {
        threads_.emplace_back([this, i] {
            pthread_setname_np(pthread_self(), "courierd-dial");
            dial(i);
        });
    }
}

HostDialer::~HostDialer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    threads_.clear();  // joins
}

void HostDialer::lost(std::size_t order) {
    {
        std::lock_guard lock(mutex_);
        if (order < linked_.size()) linked_[order] = false;
    }
    changed_.notify_all();
}

void HostDialer::dial(std::size_t order) {
    const Peer& peer = peers_[order];
    const std::string uri = peer.endpoint.to_string();
    std::string last_error;  // logged again only when it changes
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        lock.unlock();
        std::unique_ptr<Link> link;
        try {
            link = TransportRegistry::builtin().connect(peer.endpoint, peer.options);
        } catch (const std::exception& e) {
            if (e.what() != last_error) {
                last_error = e.what();
                log().warn("cannot reach the courierd of peer {}: {} (trying again every {} ms)",
                           uri, last_error, redial_.count());
            }
        }
        lock.lock();
        if (link && !stopping_) {
            if (!last_error.empty()) log().info("reached the courierd of peer {}", uri);
            last_error.clear();
            linked_[order] = true;
            lock.unlock();
            dialed_(order, std::move(link));
            lock.lock();
            changed_.wait(lock, [&] { return stopping_ || !linked_[order]; });
        }
        changed_.wait_for(lock, redial_, [&] { return stopping_; });
    }
}

}  // namespace courier::registry
