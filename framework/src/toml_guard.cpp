#include "toml_guard.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace courier::detail {

namespace {

/// The failure recorded on this thread, if `failed`.
thread_local TomlCheckFailure last_failure;
thread_local bool failed = false;

bool is_non_ascii(char c) noexcept {
    return static_cast<unsigned char>(c) >= 0x80;
}

/// What toml++ takes for whitespace and line breaks in ASCII: tab, space, LF to CR.
bool is_ascii_space(char c) noexcept {
    return c == ' ' || c == '\t' || (c >= '\n' && c <= '\r');
}

/// LF to CR: where a comment or a one-line string ends, at the latest.
bool is_line_break(char c) noexcept {
    return c >= '\n' && c <= '\r';
}

/// How many times `quote` appears in a row from `at`.
std::size_t run_of(std::string_view text, std::size_t at, char quote) noexcept {
    std::size_t n = 0;
    while (at + n < text.size() && text[at + n] == quote) ++n;
    return n;
}

[[noreturn]] void refuse(std::string_view text, std::size_t at, const std::string& source,
                         const std::string& reason) {
    // Columns count characters, as toml++'s do: every byte but UTF-8 continuation bytes.
    std::uint32_t line = 1;
    std::uint32_t column = 1;
    for (std::size_t i = 0; i < at; ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else if ((static_cast<unsigned char>(text[i]) & 0xc0U) != 0x80U) {
            ++column;
        }
    }
    throw ConfigError(source, line, column, reason);
}

}  // namespace

void toml_check_failed(const char* expression, const char* file, int line) noexcept {
    if (failed) return;
    failed = true;
    last_failure = TomlCheckFailure{expression, file, line};
}

TomlChecks::TomlChecks() noexcept {
    failed = false;
}

const TomlCheckFailure* TomlChecks::failure() const noexcept {
    return failed ? &last_failure : nullptr;
}

void check_toml_text(std::string_view text, const std::string& source) {
    enum class In { document, comment, basic, literal, multi_line_basic, multi_line_literal };
    In in = In::document;
    std::size_t i = text.starts_with("\xef\xbb\xbf") ? 3 : 0;  // a byte order mark
    while (i < text.size()) {
        const char c = text[i];
        switch (in) {
            case In::document:
                if (is_non_ascii(c)) {
                    refuse(text, i, source,
                           "a non-ASCII character outside a string or comment (TOML allows "
                           "them only there)");
                }
                if (c == '#') {
                    in = In::comment;
                } else if (c == '"' || c == '\'') {
                    const bool multi_line = run_of(text, i, c) >= 3;
                    if (multi_line) i += 2;
                    if (c == '"') {
                        in = multi_line ? In::multi_line_basic : In::basic;
                    } else {
                        in = multi_line ? In::multi_line_literal : In::literal;
                    }
                }
                ++i;
                break;
            case In::comment:
                if (is_line_break(c)) in = In::document;
                ++i;
                break;
            case In::basic:
            case In::literal:
                if (c == '\\' && in == In::basic) {
                    i += 2;  // an escape: the next byte is no closing quote
                    break;
                }
                if ((c == '"' && in == In::basic) || (c == '\'' && in == In::literal) ||
                    is_line_break(c)) {
                    in = In::document;
                }
                ++i;
                break;
            case In::multi_line_basic:
            case In::multi_line_literal: {
                const char quote = in == In::multi_line_basic ? '"' : '\'';
                if (c == quote) {
                    // Three to five quotes end the string (up to two of them its last
                    // characters); fewer are characters of it.
                    const std::size_t n = run_of(text, i, quote);
                    if (n >= 3) in = In::document;
                    i += std::min<std::size_t>(n, 5);
                    break;
                }
                if (c != '\\' || in == In::multi_line_literal) {
                    ++i;
                    break;
                }
                // toml++ asks whether the character after the backslash is whitespace, and
                // past a line-ending backslash, whether each character is, up to the first
                // that is not.
                ++i;
                if (i < text.size() && is_ascii_space(text[i])) {
                    while (i < text.size() && is_ascii_space(text[i])) ++i;
                    if (i < text.size() && is_non_ascii(text[i])) {
                        refuse(text, i, source,
                               "a non-ASCII character first after a line-ending backslash: "
                               "write it as an escape (\\uXXXX)");
                    }
                } else if (i < text.size() && is_non_ascii(text[i])) {
                    refuse(text, i, source, "a non-ASCII character after a backslash");
                } else {
                    ++i;  // the escaped character
                }
                break;
            }
        }
    }
}

}  // namespace courier::detail
