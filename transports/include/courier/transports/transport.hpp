#pragma once
/// @file
/// The transport contract and the registry of transports by URI scheme.
///
/// A transport is a type with a scheme, its capabilities, and two factories. It is
/// registered with one line in transports/src/transport_registry.cpp; nothing outside
/// that registry names a scheme. docs/transports/contract.md is the prose version.

#include <courier/transports/capabilities.hpp>
#include <courier/transports/endpoint.hpp>
#include <courier/transports/link.hpp>
#include <courier/transports/listener.hpp>

#include <concepts>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace courier {

/// Options every transport understands; transports ignore what does not apply.
struct TransportOptions {
    /// Frames larger than this are refused by the sender and treated as a protocol
    /// violation by the receiver.
    std::size_t max_frame_size = std::size_t{256} << 20;
};

/// The compile-time contract of a transport. Factories throw std::system_error (or
/// std::invalid_argument for a malformed address) and return something usable.
template <class T>
concept Transport = requires(const Endpoint& endpoint, const TransportOptions& options) {
    { T::scheme } -> std::convertible_to<std::string_view>;
    { T::capabilities() } -> std::same_as<Capabilities>;
    { T::listen(endpoint, options) } -> std::convertible_to<std::unique_ptr<Listener>>;
    { T::connect(endpoint, options) } -> std::convertible_to<std::unique_ptr<Link>>;
};

/// A registered transport, type-erased.
struct TransportEntry {
    std::string scheme;
    Capabilities capabilities;
    std::function<std::unique_ptr<Listener>(const Endpoint&, const TransportOptions&)> listen;
    std::function<std::unique_ptr<Link>(const Endpoint&, const TransportOptions&)> connect;
};

class TransportRegistry {
  public:
    /// Every transport compiled into courier.
    static const TransportRegistry& builtin();

    /// Registers T; throws std::logic_error if its scheme is already taken.
    template <Transport T>
    void add() {
        if (find(T::scheme) != nullptr) {
            throw std::logic_error("transport scheme \"" + std::string(T::scheme) +
                                   "\" registered twice");
        }
        entries_.push_back({std::string(T::scheme), T::capabilities(), &T::listen, &T::connect});
    }

    /// The transport for a scheme, or nullptr.
    const TransportEntry* find(std::string_view scheme) const noexcept;
    const std::vector<TransportEntry>& entries() const noexcept { return entries_; }

    /// Listens on / connects to an endpoint with the transport its scheme names.
    /// Throws std::invalid_argument for an unknown scheme (the message lists the known
    /// ones) or a malformed address, std::system_error when the OS refuses.
    std::unique_ptr<Listener> listen(const Endpoint& endpoint,
                                     const TransportOptions& options = {}) const;
    std::unique_ptr<Link> connect(const Endpoint& endpoint,
                                  const TransportOptions& options = {}) const;

  private:
    std::vector<TransportEntry> entries_;
};

}  // namespace courier
