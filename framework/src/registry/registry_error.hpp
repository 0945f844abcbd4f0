#pragma once
/// @file
/// The errors of the registry's client side (registry_client.hpp, registry_dialer.hpp).

#include <stdexcept>

namespace courier {

/// The registry cannot be reached or started, a connection to it broke, or it did not
/// answer in time.
class RegistryError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Thrown instead of starting courierd when none answers and autostart is off
/// (`courier ps` says "no courier registry is running" rather than starting one).
class RegistryNotRunning : public RegistryError {
  public:
    using RegistryError::RegistryError;
};

}  // namespace courier
