#pragma once
/// @file
/// A listener: accepts links on a bound endpoint. Owns the bound resource (socket file,
/// queue name, segment) and removes it when destroyed.

#include <courier/transports/endpoint.hpp>
#include <courier/transports/link.hpp>

#include <memory>

namespace courier {

class Listener {
  public:
    virtual ~Listener() = default;
    /// The endpoint peers connect to (the bound address, resolved).
    virtual const Endpoint& endpoint() const noexcept = 0;
    /// A descriptor that becomes readable when `accept` has a link for us.
    virtual int poll_fd() const noexcept = 0;
    /// Accepts one pending link without blocking; nullptr when none is pending.
    /// A peer refused by policy (wrong uid) is logged, closed and skipped.
    virtual std::unique_ptr<Link> accept() = 0;
};

}  // namespace courier
