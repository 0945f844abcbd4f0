#pragma once
/// @file
/// How courierd reaches the peer hosts its config lists (docs/multihost.md): one thread
/// per peer connects (a connect may wait for an unreachable host, which the server's
/// reactor must never do), hands the link over, waits until the server says it ended,
/// and dials again after a pause. Refusals are logged when they change, not at every try.

#include <courier/transports/endpoint.hpp>
#include <courier/transports/link.hpp>
#include <courier/transports/transport_options.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace courier::registry {

class HostDialer {
  public:
    struct Peer {
        Endpoint endpoint;  ///< its courierd's federation listener
        TransportOptions options;
    };
    /// Called on a dialer thread with a fresh link to peer `order` (its place in the list).
    using Dialed = std::function<void(std::size_t order, std::unique_ptr<Link> link)>;

    /// Starts dialing every peer at once.
    HostDialer(std::vector<Peer> peers, std::chrono::milliseconds redial, Dialed dialed);
    /// Stops the threads (a connect under way ends within the transport's own deadline).
    ~HostDialer();
    HostDialer(const HostDialer&) = delete;
    HostDialer& operator=(const HostDialer&) = delete;

    /// The link to peer `order` ended: dial it again after the pause.
    void lost(std::size_t order);

  private:
    void dial(std::size_t order);

    std::vector<Peer> peers_;
    const std::chrono::milliseconds redial_;
    Dialed dialed_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<bool> linked_;  ///< under mutex_: peer i has a live link
    bool stopping_ = false;     ///< under mutex_
    std::vector<std::jthread> threads_;
};

}  // namespace courier::registry
