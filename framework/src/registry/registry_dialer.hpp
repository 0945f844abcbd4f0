#pragma once
/// @file
/// Reaching the per-host registry courierd: a link to its socket on which it answers,
/// with courierd started when none runs (and the options allow it). The client
/// (registry_client.hpp) dials once at start and again after a broken connection.
///
/// Errors: throws RegistryError, or RegistryNotRunning when none runs and autostart is off.

#include "registry/registry_error.hpp"
#include "registry/registry_protocol.hpp"

#include <courier/framework/registry_options.hpp>
#include <courier/serialization/codec.hpp>
#include <courier/transports/link.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace courier {

class RegistryDialer {
  public:
    /// `sender` is the name the client's requests carry.
    RegistryDialer(RegistryOptions options, std::string sender);

    /// A link to a courierd that answers, started if need be (within options.timeout).
    std::unique_ptr<Link> establish() const;

    /// The frame of `request` to courierd, answered under `correlation`.
    template <class T>
    std::vector<std::byte> request_frame(std::uint64_t correlation, const T& request) const {
        EnvelopeHeader header;
        header.flags = envelope_flags::request;
        header.correlation = correlation;
        header.sender = sender_;
        header.recipient = registry::daemon_name;
        return encode_message(header, request);
    }

    const RegistryOptions& options() const noexcept { return options_; }
    const std::filesystem::path& runtime_dir() const noexcept { return dir_; }

  private:
    using Clock = std::chrono::steady_clock;

    std::unique_ptr<Link> try_connect() const;
    bool probe(Link& candidate, Clock::time_point deadline) const;
    std::unique_ptr<Link> start_and_connect(Clock::time_point deadline) const;

    RegistryOptions options_;
    std::filesystem::path dir_;
    std::filesystem::path socket_;
    std::string sender_;
};

}  // namespace courier
