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

namespace {

/// check_toml_text's scan: the text as toml++'s parser walks it, just far enough to know
/// which characters toml++ reads inside a string or a comment, the only places it never
/// asks whether a character is whitespace.
///
/// The subtle part is where a string begins. A value that is no string, array or table (a
/// number, date, boolean) toml++ reads up to the next blank, line break, ']', '}', ',' or
/// '#', asking of every character, quotes and brackets too, whether it is whitespace:
/// config_fuzz found `x = 65.000"..."` and `x = [-[{['...']` with code points from the gap
/// in the quotes (regressions/config_fuzz/). So the scan knows whether a key or a value
/// comes (a value after '=', in an array, after a ','; a key at a line's start, in a
/// table), skips such bare values whole, and takes a quote for a string's beginning only
/// where one may begin: after a line break, '=', '[', '{', ',' or a dotted key's '.'.
/// Where text is not TOML the scan may take a string for outside of one (it then refuses
/// more than it had to) but not the other way round: toml++ has refused such text before.
class TomlScan {
  public:
    TomlScan(std::string_view text, const std::string& source) : text_(text), source_(source) {}

    void run() {
        if (text_.starts_with("\xef\xbb\xbf")) at_ = 3;  // a byte order mark, as toml++ allows
        while (at_ < text_.size()) {
            switch (in_) {
                case In::document:
                    document();
                    break;
                case In::bare_value:
                    bare_value();
                    break;
                case In::comment:
                    comment();
                    break;
                case In::basic:
                case In::literal:
                    one_line_string();
                    break;
                case In::multi_line_basic:
                case In::multi_line_literal:
                    multi_line_string();
                    break;
            }
        }
    }

  private:
    enum class In {
        document,
        bare_value,
        comment,
        basic,
        literal,
        multi_line_basic,
        multi_line_literal
    };

    static bool ends_bare_value(char c) noexcept {
        return c == ' ' || c == '\t' || is_line_break(c) || c == ']' || c == '}' || c == ',' ||
               c == '#';
    }

    [[noreturn]] void refuse(std::size_t where, const char* reason) const {
        // Columns count characters, as toml++'s do: every byte but UTF-8 continuation bytes.
        std::uint32_t line = 1;
        std::uint32_t column = 1;
        for (std::size_t i = 0; i < where; ++i) {
            if (text_[i] == '\n') {
                ++line;
                column = 1;
            } else if ((static_cast<unsigned char>(text_[i]) & 0xc0U) != 0x80U) {
                ++column;
            }
        }
        throw ConfigError(source_, line, column, reason);
    }

    void refuse_outside() const {
        refuse(at_,
               "a non-ASCII character outside a string or comment (TOML allows them only there)");
    }

    void line_break(char c) {
        previous_ = c;
        if (c == '\n' && open_.empty()) value_ = false;  // a key comes on the next line
    }

    void document() {
        const char c = text_[at_];
        if (is_non_ascii(c)) refuse_outside();
        if (c == '"' || c == '\'') {
            const bool begins = previous_ == '\n' || previous_ == '=' || previous_ == '[' ||
                                previous_ == '{' || previous_ == ',' || previous_ == '.';
            if (begins) {
                const bool multi_line = run_of(text_, at_, c) >= 3;
                if (c == '"') {
                    in_ = multi_line ? In::multi_line_basic : In::basic;
                } else {
                    in_ = multi_line ? In::multi_line_literal : In::literal;
                }
                at_ += multi_line ? 3 : 1;
                return;
            }
        } else if (c == '#') {
            in_ = In::comment;
            ++at_;
            return;
        } else if (value_ && !ends_bare_value(c) && c != '[' && c != '{') {
            in_ = In::bare_value;  // this character is its first
        } else if (c == '=') {
            value_ = true;
        } else if (c == '[') {
            if (value_) open_.push_back('[');  // an array (else a table's header: a key)
        } else if (c == '{') {
            if (value_) open_.push_back('{');
            value_ = false;
        } else if (c == ',') {
            value_ = open_.empty() || open_.back() == '[';
        } else if (c == ']' || c == '}') {
            if (!open_.empty()) {
                open_.pop_back();
                value_ = true;  // the array or table was a value: what follows is not a key
            }
        } else if (is_line_break(c)) {
            line_break(c);
            ++at_;
            return;
        }
        if (c != ' ' && c != '\t') previous_ = c;
        ++at_;
    }

    void bare_value() {
        const char c = text_[at_];
        if (ends_bare_value(c)) {
            in_ = In::document;  // which takes the character
            return;
        }
        if (is_non_ascii(c)) refuse_outside();
        previous_ = c;
        ++at_;
    }

    void comment() {
        const char c = text_[at_];
        if (is_line_break(c)) {
            in_ = In::document;
            line_break(c);
        }
        ++at_;
    }

    void one_line_string() {
        const char c = text_[at_];
        if (c == '\\' && in_ == In::basic) {
            at_ += 2;  // an escape: the next byte is no closing quote
            return;
        }
        if ((c == '"' && in_ == In::basic) || (c == '\'' && in_ == In::literal)) {
            in_ = In::document;
            previous_ = c;
        } else if (is_line_break(c)) {  // which toml++ refuses in such a string
            in_ = In::document;
            line_break(c);
        }
        ++at_;
    }

    void multi_line_string() {
        const char c = text_[at_];
        const char quote = in_ == In::multi_line_basic ? '"' : '\'';
        if (c == quote) {
            // Three to five quotes end the string (up to two of them its last characters);
            // fewer are characters of it.
            const std::size_t n = run_of(text_, at_, quote);
            if (n >= 3) {
                in_ = In::document;
                previous_ = quote;
            }
            at_ += std::min<std::size_t>(n, 5);
            return;
        }
        ++at_;
        if (c != '\\' || in_ == In::multi_line_literal) return;
        // toml++ asks whether the character after the backslash is whitespace, and past a
        // line-ending backslash, whether each character is, up to the first that is not.
        if (at_ < text_.size() && is_ascii_space(text_[at_])) {
            while (at_ < text_.size() && is_ascii_space(text_[at_])) ++at_;
            if (at_ < text_.size() && is_non_ascii(text_[at_])) {
                refuse(at_,
                       "a non-ASCII character first after a line-ending backslash: write it as "
                       "an escape (\\uXXXX)");
            }
        } else if (at_ < text_.size() && is_non_ascii(text_[at_])) {
            refuse(at_, "a non-ASCII character after a backslash");
        } else {
            ++at_;  // the escaped character
        }
    }

    std::string_view text_;
    const std::string& source_;
    std::size_t at_ = 0;
    In in_ = In::document;
    char previous_ = '\n';  ///< the last character outside strings and comments, blanks aside
    bool value_ = false;    ///< a value comes (else a key)
    std::string open_;      ///< the arrays ('[') and inline tables ('{') open
};

}  // namespace

void check_toml_text(std::string_view text, const std::string& source) {
    TomlScan(text, source).run();
}

}  // namespace courier::detail
