#pragma once
/// @file
/// Reading the fields of a parsed TOML document, each refusal a ConfigError that names
/// the place (file:line:column): what config_reader.cpp's tables are read with.

#include "suggestion.hpp"
#include "toml_guard.hpp"

#include <courier/framework/config.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace courier::detail {

inline std::string_view toml_type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

/// The field readers of one document, from `source` (a file name, for messages).
class TomlFields {
  protected:
    explicit TomlFields(std::string source) : source_(std::move(source)) {}

    [[noreturn]] void fail(const toml::source_region& where, std::string reason) const {
        throw ConfigError(source_, where.begin.line, where.begin.column, std::move(reason));
    }

    [[noreturn]] void unknown(const toml::key& key, std::string_view what, std::string_view within,
                              std::initializer_list<std::string_view> known) const {
        std::string reason = "unknown " + std::string(what) + " \"" + std::string(key.str()) +
                             "\"" + (within.empty() ? "" : " in " + std::string(within));
        fail(key.source(), reason + suggestion(key.str(), known));
    }

    const toml::table& table_of(const toml::key& key, const toml::node& node,
                                std::string_view what) const {
        if (const auto* table = node.as_table()) return *table;
        fail(key.source(),
             std::string(what) + " must be a table, not " + std::string(toml_type_name(node)));
    }

    const std::string& string_of(const toml::key& key, const toml::node& node,
                                 std::string_view what) const {
        if (const auto* value = node.as_string()) return value->get();
        fail(key.source(),
             std::string(what) + " must be a string, not " + std::string(toml_type_name(node)));
    }

    std::int64_t integer_of(const toml::key& key, const toml::node& node, std::string_view what,
                            std::int64_t minimum) const {
        const auto* value = node.as_integer();
        if (value == nullptr) {
            fail(key.source(), std::string(what) + " must be an integer, not " +
                                   std::string(toml_type_name(node)));
        }
        if (value->get() < minimum) {
            fail(key.source(), std::string(what) + " must be " +
                                   (minimum == 0 ? std::string("0 or more")
                                                 : "at least " + std::to_string(minimum)) +
                                   ", not " + std::to_string(value->get()));
        }
        return value->get();
    }

    bool boolean_of(const toml::key& key, const toml::node& node, std::string_view what) const {
        const auto* flag = node.as_boolean();
        if (flag == nullptr) {
            fail(key.source(), std::string(what) + " must be true or false, not " +
                                   std::string(toml_type_name(node)));
        }
        return flag->get();
    }

    std::string source_;
};

}  // namespace courier::detail
