#include "config_reader.hpp"
#include "toml_fields.hpp"

#include <courier/log.hpp>
#include <courier/serialization/envelope.hpp>
#include <courier/transports/transport.hpp>

#include "metrics_server.hpp"
#include "registry_reader.hpp"
#include "scheme_lists.hpp"
#include "suggestion.hpp"

#include <unistd.h>

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

namespace courier::detail {

namespace {

/// The machine's memory in bytes; 0 if the system does not say.
std::int64_t machine_memory() {
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page_size = ::sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page_size > 0 ? std::int64_t{pages} * page_size : 0;
}

/// A generic key of `[transport.<scheme>]` (max_frame_size), or nullptr.
const SettingSpec* find_generic(std::string_view name) {
    for (const auto& spec : generic_settings()) {
        if (spec.name == name) return &spec;
    }
    return nullptr;
}

/// Walks a parsed document into a Config; every refusal names the place.
class Reader : TomlFields {
  public:
    Reader(std::string source, const TransportRegistry& transports)
        : TomlFields(std::move(source)),
          transports_(transports),
          available_(schemes_of(transports)) {}

    Config read(const toml::table& root) {
        Config config = Config::defaults(transports_);
        config.source = source_;
        read_tables(root, config);
        check_fd_rules(config);
        return config;
    }

  private:
    void read_tables(const toml::table& root, Config& config) {
        for (const auto& [key, node] : root) {
            const std::string_view name = key.str();
            if (name == "links") {
                read_links(table_of(key, node, "[links]"), config);
            } else if (name == "transport") {
                read_transports(table_of(key, node, "[transport]"), config);
            } else if (name == "node") {
                read_node(table_of(key, node, "[node]"), config.node);
            } else if (name == "registry") {
                RegistryReader(source_, transports_)
                    .read(table_of(key, node, "[registry]"), config.registry);
            } else {
                unknown(key, node.is_table() ? "table" : "key", "",
                        {"links", "transport", "node", "registry"});
            }
        }
    }

    /// A rule whose links carry descriptors and pins no transport takes the first
    /// preferred one with fd passing; without any, it could never open a link.
    void check_fd_rules(const Config& config) const {
        for (const auto& [rule, where] : open_fd_rules_) {
            if (!fd_capable(config.preference).empty()) continue;
            fail(where, "rule \"" + rule +
                            "\" says its links carry file descriptors but pins no "
                            "transport, and links.preference (" +
                            join(config.preference) + ") has none that passes them; add one of: " +
                            join(fd_capable(available_)));
        }
    }

  public:
    /// Refuses a transport name that is not available, saying whether it is a typo or a
    /// transport this build lacks.
    void check_transport(std::string_view name, const toml::source_region& where) const {
        if (contains(available_, name)) return;
        if (contains(default_preference_order(), name)) {
            fail(where, "transport \"" + std::string(name) +
                            "\" is not available in this build (available: " + join(available_) +
                            ")");
        }
        std::vector<std::string> known = default_preference_order();
        for (const auto& scheme : available_) {
            if (!contains(known, scheme)) known.push_back(scheme);
        }
        fail(where, "unknown transport \"" + std::string(name) + "\"" + suggestion(name, known) +
                        " (available: " + join(available_) + ")");
    }

  private:
    void read_links(const toml::table& links, Config& config) {
        for (const auto& [key, node] : links) {
            if (key.str() == "preference") {
                read_preference(key, node, config.preference);
            } else if (key.str() == "rule") {
                read_rules(key, node, config.rules);
            } else {
                unknown(key, "key", "[links]", {"preference", "rule"});
            }
        }
    }

    void read_preference(const toml::key& key, const toml::node& node,
                         std::vector<std::string>& preference) const {
        const auto* array = node.as_array();
        if (array == nullptr) {
            fail(key.source(), "links.preference must be an array of transport names, not " +
                                   std::string(toml_type_name(node)));
        }
        if (array->empty()) fail(key.source(), "links.preference must name at least one transport");
        preference.clear();
        for (const auto& element : *array) {
            const auto* name = element.as_string();
            if (name == nullptr) {
                fail(element.source(),
                     "links.preference must hold transport names (strings), not " +
                         std::string(toml_type_name(element)));
            }
            check_transport(name->get(), element.source());
            if (contains(preference, name->get())) {
                fail(element.source(),
                     "transport \"" + name->get() + "\" appears twice in links.preference");
            }
            preference.push_back(name->get());
        }
    }

    void read_rules(const toml::key& key, const toml::node& node, std::vector<LinkRule>& rules) {
        const auto* array = node.as_array();
        if (array == nullptr || !array->is_array_of_tables()) {
            fail(key.source(),
                 "links.rule must be an array of tables ([[links.rule]] with from, to, transport)");
        }
        for (const auto& element : *array) {
            const auto& table = *element.as_table();
            LinkRule rule;
            rule.line = table.source().begin.line;
            const toml::node* pinned = nullptr;  // the transport value, for errors
            for (const auto& [rule_key, value] : table) {
                const std::string_view name = rule_key.str();
                if (name == "from" || name == "to") {
                    const std::string& pattern =
                        string_of(rule_key, value, "links.rule." + std::string(name));
                    if (pattern.empty()) {
                        fail(rule_key.source(),
                             "links.rule." + std::string(name) +
                                 " must not be empty (\"*\" matches every node)");
                    }
                    (name == "from" ? rule.from : rule.to) = pattern;
                } else if (name == "transport") {
                    rule.transport = string_of(rule_key, value, "links.rule.transport");
                    check_transport(rule.transport, value.source());
                    pinned = &value;
                } else if (name == "fds") {
                    const auto* flag = value.as_boolean();
                    if (flag == nullptr) {
                        fail(rule_key.source(), "links.rule.fds must be true or false, not " +
                                                    std::string(toml_type_name(value)));
                    }
                    rule.fds = flag->get();
                } else {
                    unknown(rule_key, "key", "[[links.rule]]", {"from", "to", "transport", "fds"});
                }
            }
            for (auto [field, text] : {std::pair{&rule.from, "from"}, std::pair{&rule.to, "to"}}) {
                if (field->empty()) {
                    fail(table.source(),
                         "[[links.rule]] lacks \"" + std::string(text) +
                             "\"; a rule needs from, to and transport (or fds = true)");
                }
            }
            if (rule.transport.empty() && !rule.fds) {
                fail(table.source(),
                     "[[links.rule]] lacks \"transport\"; a rule needs from, to "
                     "and transport (or fds = true)");
            }
            if (rule.fds && pinned != nullptr && !passes_fds(rule.transport)) {
                fail(pinned->source(),
                     "rule \"" + rule.describe() +
                         "\" says its links carry file descriptors "
                         "(fds = true), but transport \"" +
                         rule.transport + "\" cannot pass them; use one that can (" +
                         join(fd_capable(available_)) + ") or leave transport out");
            }
            if (rule.fds && pinned == nullptr)
                open_fd_rules_.emplace_back(rule.describe(), table.source());
            rules.push_back(std::move(rule));
        }
    }

    void read_transports(const toml::table& transports, Config& config) const {
        for (const auto& [key, node] : transports) {
            const std::string scheme(key.str());
            check_transport(scheme, key.source());
            const auto& table = table_of(key, node, "[transport." + scheme + "]");
            TransportSettings& settings = config.transports[scheme];
            for (const auto& [setting, value] : table) {
                read_setting(*transports_.find(scheme), setting, value, settings);
            }
        }
    }

    /// A key of `[transport.<scheme>]`: generic, or one the transport declares.
    void read_setting(const TransportEntry& transport, const toml::key& key,
                      const toml::node& value, TransportSettings& settings) const {
        const std::string_view name = key.str();
        if (name == "listen") {
            const auto* text = value.as_string();
            if (text == nullptr)
                fail(key.source(), "transport." + transport.scheme +
                                       ".listen must be a string (the address after \"" +
                                       transport.scheme + "://\"), not " +
                                       std::string(toml_type_name(value)));
            try {
                (void)Endpoint::parse(transport.scheme + "://" + text->get());
            } catch (const std::invalid_argument& e) {
                fail(key.source(), "transport." + transport.scheme + ".listen: " + e.what());
            }
            settings.listen = text->get();
            return;
        }
        const SettingSpec* spec = find_generic(name);
        if (spec == nullptr) spec = transport.find_setting(name);
        if (spec == nullptr) {
            std::string owners;
            for (const auto& other : transports_.entries()) {
                if (other.find_setting(name) != nullptr) {
                    owners += (owners.empty() ? "" : ", ") + other.scheme;
                }
            }
            if (!owners.empty()) {
                fail(key.source(), "key \"" + std::string(name) +
                                       "\" does not apply to transport \"" + transport.scheme +
                                       "\" (it is a setting of " + owners + ")");
            }
            std::vector<std::string_view> names{"listen"};
            for (const auto& generic : generic_settings()) names.push_back(generic.name);
            for (const auto& own : transport.settings) names.push_back(own.name);
            fail(key.source(), "unknown key \"" + std::string(name) + "\" in [transport." +
                                   transport.scheme + "]" + suggestion(name, names));
        }
        const std::string where = "transport." + transport.scheme + "." + std::string(name);
        std::int64_t number = 0;
        if (spec->type == SettingType::boolean) {
            const auto* flag = value.as_boolean();
            if (flag == nullptr) {
                fail(key.source(),
                     where + " must be a boolean, not " + std::string(toml_type_name(value)));
            }
            number = flag->get() ? 1 : 0;
        } else {
            const auto* integer = value.as_integer();
            if (integer == nullptr) {
                fail(key.source(),
                     where + " must be an integer, not " + std::string(toml_type_name(value)));
            }
            number = integer->get();
        }
        if (auto why = spec->check(number); !why.empty()) fail(key.source(), where + " " + why);
        // A peer may make a node hold a frame this large: one that cannot fit is a mistake.
        if (const std::int64_t memory = machine_memory();
            spec->name == max_frame_size_setting.name && memory != 0 && number > memory) {
            fail(key.source(), where + " is " + std::to_string(number) +
                                   " bytes, more than this machine's memory (" +
                                   std::to_string(memory) + " bytes)");
        }
        settings.values.insert_or_assign(std::string(name), number);
    }

    void read_node(const toml::table& table, NodeSettings& node) const {
        for (const auto& [key, value] : table) {
            if (key.str() == "cpus") {
                const auto cpus = value.value<double>();  // an integer or a float
                if (!cpus || !value.is_number())
                    fail(key.source(),
                         "node.cpus must be a number, not " + std::string(toml_type_name(value)));
                if (!(*cpus >= 0))
                    fail(key.source(), "node.cpus must be 0 (what the system allows) or more");
                node.cpus = *cpus;
            } else if (key.str() == "threads") {
                node.threads = static_cast<std::size_t>(integer_of(key, value, "node.threads", 0));
            } else if (key.str() == "worker_spin_us") {
                node.worker_spin =
                    std::chrono::microseconds(integer_of(key, value, "node.worker_spin_us", 0));
            } else if (key.str() == "runtime_dir") {
                const std::string& dir = string_of(key, value, "node.runtime_dir");
                if (!dir.empty()) node.runtime_dir = dir;
            } else if (key.str() == "handle_signals") {
                node.handle_signals = boolean_of(key, value, "node.handle_signals");
            } else if (key.str() == "drain_timeout_ms") {
                node.drain_timeout =
                    std::chrono::milliseconds(integer_of(key, value, "node.drain_timeout_ms", 0));
            } else if (key.str() == "actor_failure") {
                const std::string& word = string_of(key, value, "node.actor_failure");
                node.actor_failure = failure_policy_named(word);
                if (!node.actor_failure)
                    fail(key.source(),
                         "node.actor_failure must be resume, restart, stop or "
                         "escalate, not \"" +
                             word + "\"");
            } else if (key.str() == "actor_max_restarts") {
                node.actor_max_restarts = static_cast<std::uint32_t>(
                    std::min<std::int64_t>(integer_of(key, value, "node.actor_max_restarts", 0),
                                           std::numeric_limits<std::uint32_t>::max()));
            } else if (key.str() == "actor_restart_window_ms") {
                node.actor_restart_window = std::chrono::milliseconds(
                    integer_of(key, value, "node.actor_restart_window_ms", 1));
            } else if (key.str() == "mailbox_letters") {
                node.mailbox_letters =
                    static_cast<std::size_t>(integer_of(key, value, "node.mailbox_letters", 1));
            } else if (key.str() == "mailbox_bytes") {
                node.mailbox_bytes =
                    static_cast<std::size_t>(integer_of(key, value, "node.mailbox_bytes", 1));
            } else if (key.str() == "mailbox_overflow") {
                const std::string& word = string_of(key, value, "node.mailbox_overflow");
                node.mailbox_overflow = overflow_named(word);
                if (!node.mailbox_overflow)
                    fail(key.source(),
                         "node.mailbox_overflow must be block, fail, drop_newest or "
                         "drop_oldest, not \"" +
                             word + "\"");
            } else if (key.str() == "send_timeout_ms") {
                node.send_timeout =
                    std::chrono::milliseconds(integer_of(key, value, "node.send_timeout_ms", 0));
            } else if (key.str() == "credit_letters") {
                node.credit_letters =
                    static_cast<std::uint64_t>(integer_of(key, value, "node.credit_letters", 1));
            } else if (key.str() == "credit_bytes") {
                node.credit_bytes =
                    static_cast<std::uint64_t>(integer_of(key, value, "node.credit_bytes", 1));
            } else if (key.str() == "log_level") {
                const std::string& word = string_of(key, value, "node.log_level");
                if (word.empty()) continue;  // as NodeOptions::log_level: leave it
                if (!log_level_named(word))
                    fail(key.source(),
                         "node.log_level must be trace, debug, info, warn, error, critical or "
                         "off, not \"" +
                             word + "\"");
                node.log_level = word;
            } else if (key.str() == "metrics_address") {
                const std::string& address = string_of(key, value, "node.metrics_address");
                if (!address.empty()) {
                    if (auto parsed = parse_metrics_address(address); !parsed)
                        fail(value.source(), "node.metrics_address: " + parsed.error());
                }
                node.metrics_address = address;
            } else {
                unknown(key, "key", "[node]",
                        {"cpus", "threads", "worker_spin_us", "runtime_dir", "handle_signals",
                         "drain_timeout_ms", "actor_failure", "actor_max_restarts",
                         "actor_restart_window_ms", "mailbox_letters", "mailbox_bytes",
                         "mailbox_overflow", "send_timeout_ms", "credit_letters", "credit_bytes",
                         "log_level", "metrics_address"});
            }
        }
    }

    const TransportRegistry& transports_;
    std::vector<std::string> available_;  ///< the schemes of transports_
    /// Rules with fds = true and no transport, checked once the preference list is known.
    std::vector<std::pair<std::string, toml::source_region>> open_fd_rules_;
};

}  // namespace

std::vector<std::string> schemes_of(const TransportRegistry& registry) {
    std::vector<std::string> schemes;
    for (const auto& entry : registry.entries()) schemes.push_back(entry.scheme);
    return schemes;
}

Config read_config(const toml::table& root, std::string source,
                   const TransportRegistry& available) {
    return Reader(std::move(source), available).read(root);
}

void check_transport_name(std::string_view scheme, std::string source,
                          const TransportRegistry& available) {
    Reader(std::move(source), available).check_transport(scheme, {});
}

}  // namespace courier::detail
