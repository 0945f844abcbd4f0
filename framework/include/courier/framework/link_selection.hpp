#pragma once
/// @file
/// Which transport a link between two nodes uses, and why: the rules of a Config
/// (config.hpp), the preference order, and what each node offers. docs/configuration.md
/// ("How a link's transport is chosen") is the prose version.

#include <courier/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace courier {

struct Config;

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
/// the first transport of the default preference order that can cross hosts
/// (Capabilities::cross_host) and both offer, whatever the rules, the preference list and
/// the override say (they name local mechanisms). When the chosen scheme is not offered
/// by both nodes, or none fits, the error says which node lacks what. (Links inside one
/// process never get here: they are mailbox deliveries.)
Expected<Selection, std::string> choose(const Config& config, std::string_view from,
                                        std::string_view to, const std::vector<std::string>& ours,
                                        const std::vector<std::string>& theirs, bool same_host);

}  // namespace courier
