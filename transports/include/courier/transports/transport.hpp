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
#include <courier/transports/setting.hpp>
#include <courier/transports/transport_options.hpp>

#include <chrono>
#include <concepts>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace courier {

/// The compile-time contract of a transport. Factories throw std::system_error (or
/// std::invalid_argument for a malformed address) and return something usable.
/// `preference_rank` places it in the default preference order (lower first; see
/// TransportRegistry::preference_order()).
template <class T>
concept Transport = requires(const Endpoint& endpoint, const TransportOptions& options) {
    { T::scheme } -> std::convertible_to<std::string_view>;
    { T::preference_rank } -> std::convertible_to<int>;
    { T::capabilities() } -> std::same_as<Capabilities>;
    { T::listen(endpoint, options) } -> std::convertible_to<std::unique_ptr<Listener>>;
    { T::connect(endpoint, options) } -> std::convertible_to<std::unique_ptr<Link>>;
};

/// What a node tells a transport so it can pick an endpoint of its own: unique on the
/// host, and with any files it needs inside the node's runtime directory.
struct EndpointHint {
    std::string node;                   ///< the node's name
    long pid = 0;                       ///< the node's process
    std::filesystem::path runtime_dir;  ///< private to the user (0700)

    /// `courier.<pid>.<node>`, short and safe for any kernel object name: characters
    /// outside [A-Za-z0-9_-] become '_', and a long name is cut and given a hash of the
    /// whole, so two nodes of one process never share a tag.
    std::string tag() const;
};

/// A transport that can choose a default endpoint for a node, so nodes listen on it
/// without configuration. Optional: a transport without one is used only where an
/// endpoint is given.
template <class T>
concept HasDefaultEndpoint = requires(const EndpointHint& hint) {
    { T::default_endpoint(hint) } -> std::convertible_to<Endpoint>;
};

/// A link made for a child process about to be spawned: the spawner's end, and the
/// descriptors the child inherits with the endpoint that names them there.
struct ChildLink {
    std::unique_ptr<Link> link;  ///< the spawner's end, ready to use
    /// The child's ends (close-on-exec here): the spawner places them in the child, at
    /// the numbers it asked for, and closes them in its own process after the spawn.
    std::vector<Fd> child_fds;
    Endpoint child_endpoint;  ///< what the child passes to connect() to adopt them
};

/// A transport whose links are made by spawning (pipe:): the spawner makes both ends
/// before the child exists, and the child adopts its ends with connect(child_endpoint).
/// `child_fd_base` is where the spawner places the child's ends in the child (`base`,
/// `base + 1`, ...), so the endpoint can name them; negative when they keep their numbers
/// (a forked child, or a test that adopts them in the same process). Optional.
template <class T>
concept LinksChildren = requires(const TransportOptions& options, int child_fd_base) {
    { T::child_link(options, child_fd_base) } -> std::same_as<ChildLink>;
};

/// A transport with settings of its own: `static constexpr std::array settings{...}` of
/// SettingSpec, declared next to its code. Optional: a transport without any takes only
/// the generic options (generic_settings()).
template <class T>
concept HasSettings = std::ranges::range<decltype(T::settings)> &&
    std::same_as<std::ranges::range_value_t<decltype(T::settings)>, SettingSpec>;

/// A registered transport, type-erased. Its listen/connect are the bare transport's: go
/// through TransportRegistry::listen/connect, which check the options and add
/// fragmentation where needed.
struct TransportEntry {
    std::string scheme;
    Capabilities capabilities;
    std::function<std::unique_ptr<Listener>(const Endpoint&, const TransportOptions&)> listen;
    std::function<std::unique_ptr<Link>(const Endpoint&, const TransportOptions&)> connect;
    /// Empty when the transport has no default endpoint.
    std::function<Endpoint(const EndpointHint&)> default_endpoint;
    /// The transport's own settings (TransportOptions::settings), besides the generic ones.
    std::vector<SettingSpec> settings;
    /// Empty unless the transport links a spawner to its children (LinksChildren).
    std::function<ChildLink(const TransportOptions&, int)> child_link;
    /// Its place in the default preference order: lower is preferred (Transport).
    int preference_rank = std::numeric_limits<int>::max();

    /// One of its own settings by name, or nullptr.
    const SettingSpec* find_setting(std::string_view name) const noexcept;
};

class TransportRegistry {
  public:
    /// Every transport compiled into courier.
    static const TransportRegistry& builtin();

    /// Registers T, with its settings when it declares some (HasSettings); throws
    /// std::logic_error as add(TransportEntry) does.
    template <Transport T>
    void add() {
        TransportEntry entry{std::string(T::scheme),
                             T::capabilities(),
                             &T::listen,
                             &T::connect,
                             {},
                             {},
                             {},
                             static_cast<int>(T::preference_rank)};
        if constexpr (HasDefaultEndpoint<T>) entry.default_endpoint = &T::default_endpoint;
        if constexpr (HasSettings<T>) entry.settings.assign(T::settings.begin(), T::settings.end());
        if constexpr (LinksChildren<T>) entry.child_link = &T::child_link;
        add(std::move(entry));
    }
    /// Registers a type-erased entry (e.g. one of another registry's); throws
    /// std::logic_error if its scheme is taken or it declares a generic setting's name or
    /// one name twice.
    void add(TransportEntry entry);

    /// The transport for a scheme, or nullptr.
    const TransportEntry* find(std::string_view scheme) const noexcept;
    const std::vector<TransportEntry>& entries() const noexcept { return entries_; }
    /// Its schemes, lowest preference_rank first (ties in the order they were added):
    /// the order in which same-host links try them unless a config says otherwise.
    std::vector<std::string> preference_order() const;

    /// Listens on / connects to an endpoint with the transport its scheme names.
    /// Throws std::invalid_argument for an unknown scheme (the message lists the known
    /// ones), a setting the transport does not declare or a value below its minimum, or a
    /// malformed address; std::system_error when the OS refuses.
    std::unique_ptr<Listener> listen(const Endpoint& endpoint,
                                     const TransportOptions& options = {}) const;
    std::unique_ptr<Link> connect(const Endpoint& endpoint,
                                  const TransportOptions& options = {}) const;
    /// Makes a link to a child about to be spawned with the transport of `scheme`, which
    /// must link children (TransportEntry::child_link); see LinksChildren. Throws
    /// std::invalid_argument for an unknown scheme or one that does not link children,
    /// std::system_error when the OS refuses.
    ChildLink child_link(std::string_view scheme, const TransportOptions& options = {},
                         int child_fd_base = -1) const;

  private:
    std::vector<TransportEntry> entries_;
};

}  // namespace courier
