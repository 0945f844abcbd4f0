#pragma once
/// @file
/// A node's configuration: which transport each link uses, per-transport settings, and
/// node and registry settings, read from a TOML file and the environment.
///
/// Where it comes from, highest precedence first: `COURIER_TRANSPORT=<scheme>` (forces
/// the transport of every same-host link), then the file named by `--config FILE`, else
/// the parent node's config (`$COURIER_CONFIG_TOML`, set by Node::spawn_process), else the
/// file named by `$COURIER_CONFIG`, else the built-in defaults. docs/configuration.md is the prose
/// version; docs/courier.example.toml lists every key with its default.
///
/// A config that names an unknown table, key or transport, or holds a malformed value,
/// is refused as a whole with ConfigError ("<file>:<line>:<column>: <reason>"), so a
/// mistake fails at start rather than when the first link opens.
///
/// How a link's transport is chosen from a Config is link_selection.hpp, included here.

#include <courier/expected.hpp>
#include <courier/framework/failure_policy.hpp>
#include <courier/framework/link_selection.hpp>
#include <courier/framework/mailbox_limit.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace courier {

class TransportRegistry;  // transports/transport.hpp
struct TransportOptions;  // transports/transport_options.hpp

/// A config that cannot be used: where (file, line, column; line 0 when the problem has
/// no place in a file, e.g. an unreadable file or a bad environment variable) and why.
class ConfigError : public std::runtime_error {
  public:
    ConfigError(std::string source, std::uint32_t line, std::uint32_t column, std::string reason);

    const std::string& source() const noexcept { return source_; }
    std::uint32_t line() const noexcept { return line_; }
    std::uint32_t column() const noexcept { return column_; }
    /// The reason alone, without the place.
    const std::string& reason() const noexcept { return reason_; }

  private:
    std::string source_;
    std::uint32_t line_;
    std::uint32_t column_;
    std::string reason_;
};

/// Settings of one transport (`[transport.<scheme>]`): the keys the file sets, by name,
/// each either generic (generic_settings(): max_frame_size) or declared by the transport
/// itself (TransportEntry::settings), checked against its declaration. Sizes are bytes,
/// durations microseconds, booleans 0/1; a key not set takes its declared default.
struct TransportSettings {
    std::map<std::string, std::int64_t, std::less<>> values;
    /// `listen = "..."`: the address this node listens on (the endpoint after `scheme://`)
    /// instead of the transport's default. For tcp it is also what asks for a listener.
    std::optional<std::string> listen;

    /// For the transport's listen/connect: generic keys in their fields, the
    /// transport's own in TransportOptions::settings.
    TransportOptions options() const;
    bool operator==(const TransportSettings&) const = default;
};

/// `[node]`: only what the file sets; unset fields leave the NodeOptions of the code alone.
struct NodeSettings {
    std::optional<double> cpus;  ///< NodeOptions::cpus
    std::optional<std::size_t> threads;
    std::optional<std::chrono::microseconds> worker_spin;  ///< NodeOptions::worker_spin
    std::optional<std::filesystem::path> runtime_dir;
    std::optional<bool> handle_signals;                      ///< NodeOptions::handle_signals
    std::optional<std::chrono::milliseconds> drain_timeout;  ///< NodeOptions::drain_timeout
    std::optional<FailurePolicy> actor_failure;              ///< NodeOptions::actor_failure
    /// NodeOptions::actor_restart_limit, its two halves
    std::optional<std::uint32_t> actor_max_restarts;
    std::optional<std::chrono::milliseconds> actor_restart_window;
    /// NodeOptions::mailbox_limit, its three parts
    std::optional<std::size_t> mailbox_letters;
    std::optional<std::size_t> mailbox_bytes;
    std::optional<Overflow> mailbox_overflow;
    std::optional<std::chrono::milliseconds> send_timeout;  ///< NodeOptions::send_timeout
    /// NodeOptions::credit_window, its two parts
    std::optional<std::uint64_t> credit_letters;
    std::optional<std::uint64_t> credit_bytes;
    std::optional<std::string> log_level;        ///< NodeOptions::log_level
    std::optional<std::string> metrics_address;  ///< NodeOptions::metrics_address
};

/// `[registry]`: only what the file sets (see RegistryOptions).
struct RegistrySettings {
    std::optional<bool> autostart;
    std::optional<std::chrono::milliseconds> idle_exit;
    std::optional<std::chrono::milliseconds> timeout;
    // The federation of courierds across hosts, read by courierd (docs/multihost.md).
    std::string host;                ///< this host's name in name@host; empty: the kernel's
    std::string listen;              ///< where other hosts' courierds reach this one; empty: none
    std::vector<std::string> peers;  ///< the other hosts' courierds, dialed in this order
    std::optional<std::chrono::milliseconds> heartbeat;  ///< how often peers hear from us
    std::optional<std::chrono::milliseconds> host_down;  ///< a peer silent this long is gone
    std::optional<std::chrono::milliseconds> redial;     ///< pause between tries to reach one
    /// Where the cluster's names are kept: "static" (the peers above) or "etcd".
    std::string mode = "static";
    std::vector<std::string> etcd;  ///< etcd mode: its endpoints, "http://host:port"
    std::string etcd_prefix;        ///< etcd mode: under which key; empty: "/courier"
    /// A program other hosts may start on this one through its courierd (Node::place):
    /// `[registry.placeable.<name>]`. docs/multihost.md, "Placement".
    struct Placeable {
        std::vector<std::string> argv;  ///< the program (a path) and its first arguments
        bool extra_args = false;        ///< the asker may add arguments of its own
    };
    /// By name. None: this host starts nothing for others.
    std::map<std::string, Placeable, std::less<>> placeable;
};

/// Every scheme courier defines, in the default preference order: the builtin transports
/// by their preference_rank (TransportRegistry::preference_order()). Only those that are
/// also available are usable; the rest are refused as "not built".
const std::vector<std::string>& default_preference_order();
/// default_preference_order() without the transports other hosts can reach: the default
/// of links.preference.
const std::vector<std::string>& default_same_host_preference();

struct Config {
    /// Same-host links take the first of these that both nodes offer. By default every
    /// transport but those other hosts can reach (tcp), which a node listens on only when
    /// its config names them (docs/security.md).
    std::vector<std::string> preference = default_same_host_preference();
    /// Tried in order; the first rule that matches a link decides its transport.
    std::vector<LinkRule> rules;
    /// From COURIER_TRANSPORT: the transport of every same-host link, rules or not.
    std::optional<std::string> override_transport;
    /// By scheme; a scheme without an entry uses TransportSettings{}.
    std::map<std::string, TransportSettings, std::less<>> transports;
    NodeSettings node;
    RegistrySettings registry;
    /// The file this came from; empty for the built-in defaults.
    std::string source;

    /// The defaults: the preference order is `available`'s (its transports by rank; by
    /// default, TransportRegistry::builtin()).
    static Config defaults();
    static Config defaults(const TransportRegistry& available);

    /// Parses TOML text; `source_name` is the file name errors report. Transport names
    /// (in the preference list, rules and `[transport.*]`) must be in `available`, and a
    /// `[transport.<scheme>]` table may hold the generic keys and the settings that
    /// transport declares. Throws ConfigError.
    static Config parse(std::string_view text, std::string_view source_name);
    static Config parse(std::string_view text, std::string_view source_name,
                        const TransportRegistry& available);

    /// Reads and parses a file. Throws ConfigError (also when it cannot be read).
    static Config load_file(const std::filesystem::path& path);
    static Config load_file(const std::filesystem::path& path, const TransportRegistry& available);

    /// The configuration of a process: `config_flag` (from `--config`) if not empty, else
    /// `$COURIER_CONFIG_TOML` (the config's text, which a parent node gives the children it
    /// spawns), else `$COURIER_CONFIG` if set and not empty, else the defaults; then
    /// `$COURIER_TRANSPORT`, if set and not empty, becomes override_transport.
    /// Throws ConfigError.
    static Config from_environment(const std::filesystem::path& config_flag = {});
    static Config from_environment(const std::filesystem::path& config_flag,
                                   const TransportRegistry& available);

    /// The settings of `scheme`: its `[transport.<scheme>]` table, or the defaults.
    const TransportSettings& settings(std::string_view scheme) const;
};

}  // namespace courier
