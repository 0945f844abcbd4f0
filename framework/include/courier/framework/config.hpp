#pragma once
/// @file
/// A node's configuration: which transport each link uses, per-transport settings, and
/// node and registry settings, read from a TOML file and the environment.
///
/// Where it comes from, highest precedence first: `COURIER_TRANSPORT=<scheme>` (forces
/// the transport of every same-host link), then the file named by `--config FILE`, else
/// by `$COURIER_CONFIG`, else the built-in defaults. docs/configuration.md is the prose
/// version; docs/courier.example.toml lists every key with its default.
///
/// A config that names an unknown table, key or transport, or holds a malformed value,
/// is refused as a whole with ConfigError ("<file>:<line>:<column>: <reason>"), so a
/// mistake fails at start rather than when the first link opens.

#include <courier/expected.hpp>

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

/// Decides the transport of the links whose sender and receiver node names match two
/// glob patterns (fnmatch(3): `*`, `?`, `[...]`; `*` also matches `/`): the one it pins,
/// or, for a rule that only says its links carry file descriptors, the first transport
/// of the preference list with fd passing.
struct LinkRule {
    std::string from;
    std::string to;
    std::string transport;   ///< empty: any transport that fits (then `fds` is set)
    std::uint32_t line = 0;  ///< where the rule is written; 0 when built in code
    /// Its links carry messages with file descriptors: only a transport with
    /// Capabilities::fd_passing will do, and a config pinning another is refused.
    bool fds = false;

    /// `"<from> -> <to>"`, how `courier links` names the rule.
    std::string describe() const;
    bool matches(std::string_view from_name, std::string_view to_name) const;
};

/// Settings of one transport (`[transport.<scheme>]`): the keys the file sets, by name,
/// each either generic (generic_settings(): max_frame_size) or declared by the transport
/// itself (TransportEntry::settings), checked against its declaration. Sizes are bytes,
/// durations microseconds, booleans 0/1; a key not set takes its declared default.
struct TransportSettings {
    std::map<std::string, std::int64_t, std::less<>> values;

    /// For the transport's listen/connect: generic keys in their fields, the
    /// transport's own in TransportOptions::settings.
    TransportOptions options() const;
    bool operator==(const TransportSettings&) const = default;
};

/// `[node]`: only what the file sets; unset fields leave the NodeOptions of the code alone.
struct NodeSettings {
    std::optional<std::size_t> threads;
    std::optional<std::chrono::microseconds> worker_spin;  ///< NodeOptions::worker_spin
    std::optional<std::filesystem::path> runtime_dir;
};

/// `[registry]`: only what the file sets (see RegistryOptions).
struct RegistrySettings {
    std::optional<bool> autostart;
    std::optional<std::chrono::milliseconds> idle_exit;
    std::optional<std::chrono::milliseconds> timeout;
};

/// Every scheme courier defines, in the default preference order (fastest first). Only
/// those that are also available are usable; the rest are refused as "not built".
const std::vector<std::string>& default_preference_order();

struct Config {
    /// Same-host links take the first of these that both nodes offer.
    std::vector<std::string> preference = default_preference_order();
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

    /// The defaults, with the preference order reduced to the transports of `available`
    /// (by default, TransportRegistry::builtin()).
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
    /// `$COURIER_CONFIG` if set and not empty, else the defaults; then
    /// `$COURIER_TRANSPORT`, if set and not empty, becomes override_transport.
    /// Throws ConfigError.
    static Config from_environment(const std::filesystem::path& config_flag = {});
    static Config from_environment(const std::filesystem::path& config_flag,
                                   const TransportRegistry& available);

    /// The settings of `scheme`: its `[transport.<scheme>]` table, or the defaults.
    const TransportSettings& settings(std::string_view scheme) const;
};

/// Why a link got its transport, as `courier links` shows it.
enum class SelectionReason : std::uint8_t {
    override_transport,  ///< COURIER_TRANSPORT
    rule,                ///< a [[links.rule]] matched
    preference,          ///< the first of the preference list both nodes offer
    cross_host,          ///< the nodes are on different hosts
};

struct Selection {
    std::string transport;
    SelectionReason reason = SelectionReason::preference;
    /// The rule that decided, when reason == rule.
    std::optional<LinkRule> rule;

    /// `override`, `rule "<from> -> <to>"`, `default` or `cross-host`.
    std::string describe() const;
};

/// Chooses the transport of the link from node `from` to node `to`, given the schemes
/// each offers (`ours`, `theirs`). Same host: the override if set, else the first
/// matching rule (its transport, or for a rule with only `fds`, the first preferred
/// transport both offer that passes descriptors), else the first scheme of the
/// preference list both offer. Links a matching rule says carry descriptors never get a
/// transport without fd passing, the override's included: that is an error. Another host:
/// tcp, whatever the rules say (they name local mechanisms). When the chosen scheme is
/// not offered by both nodes, or none fits, the error says which node lacks what.
/// (Links inside one process never get here: they are mailbox deliveries.)
Expected<Selection, std::string> choose(const Config& config, std::string_view from,
                                        std::string_view to, const std::vector<std::string>& ours,
                                        const std::vector<std::string>& theirs, bool same_host);

}  // namespace courier
