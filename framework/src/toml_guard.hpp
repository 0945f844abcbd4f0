#pragma once
/// @file
/// toml++ as courier includes it, guarded against what toml++ 3.3 (Debian's
/// libtomlplusplus-dev) does with some bad text. Every courier file that uses toml++
/// includes this header, never <toml++/toml.h> itself, so that all of them compile its
/// inline code with the same checks.
///
/// Fuzzing Config::parse (tests/fuzz/config_fuzz.cpp) found two ways bad bytes end in an
/// abort or undefined behaviour inside toml++ instead of a parse error:
///
/// - A broken precondition (TOML_ASSERT_ASSUME): "[" then a newline enters parse_key on
///   the newline. Where the parser is compiled without NDEBUG that is assert(): an abort;
///   with NDEBUG, under clang, __builtin_assume: the optimizer may build on a falsehood.
///   The parser handles the case right after the check (it reports the parse error), so
///   the check here records the failure and lets it go on; Config::parse refuses the text
///   if anything was recorded (TomlChecks). This reaches the parser where courier compiles
///   it (COURIER_TOML_HEADER_ONLY, the fuzz preset); the package's shared library, which
///   the other builds link, is built with NDEBUG by gcc, where the check is nothing at all.
/// - An "unreachable" reached: is_non_ascii_horizontal_whitespace has no case for the
///   code points U+00A1 to U+0499, U+2C5E to U+3057 (but U+3000) and U+FB26 to U+FEFE,
///   U+01F0 (bytes c7 b0) for one, and toml++ asks it about every code point outside
///   strings and comments, and in a """ string about the one after a backslash and, past a
///   line-ending backslash, the first that is not whitespace. __builtin_unreachable
///   wherever toml++ is compiled, the shared library too; no macro reaches it (toml++
///   defines it unconditionally). check_toml_text refuses such text before toml++ sees it.
///   (toml++ upstream fixed both later: marzer/tomlplusplus#301 and #305.)

#include <courier/framework/config.hpp>

#include <string>
#include <string_view>

namespace courier::detail {

/// A toml++ check (TOML_ASSERT, TOML_ASSERT_ASSUME) that did not hold.
struct TomlCheckFailure {
    const char* expression = nullptr;
    const char* file = nullptr;
    int line = 0;
};

/// Where courier's TOML_ASSERT goes when its expression is false: records the first
/// failure on this thread since the last TomlChecks began. Never throws (toml++ checks in
/// noexcept functions too) and never allocates.
void toml_check_failed(const char* expression, const char* file, int line) noexcept;

/// The toml++ checks that fail on this thread from its construction on.
class TomlChecks {
  public:
    TomlChecks() noexcept;
    /// The first that failed, or nullptr.
    const TomlCheckFailure* failure() const noexcept;
};

/// Throws ConfigError, naming `source` and the place, for text that toml++ 3.3 cannot
/// read without reaching its "unreachable": a non-ASCII character outside strings and
/// comments (never valid TOML 1.0), or in a """ string right after a backslash, past the
/// whitespace and line breaks a line-ending backslash skips (valid TOML, refused with
/// advice: write it as \uXXXX). A leading UTF-8 byte order mark is allowed, as toml++
/// allows it. The text is scanned as toml++ walks it (toml_guard.cpp, TomlScan): where
/// the two could differ, in text that is not TOML, the scan refuses more, never less.
void check_toml_text(std::string_view text, const std::string& source);

}  // namespace courier::detail

// toml++'s macros are defined once, in its preprocessor.h (#pragma once): included first,
// they can be replaced before the rest of toml++ uses them.
#include <toml++/impl/preprocessor.h>

#undef TOML_ASSERT
#undef TOML_ASSERT_ASSUME
#define TOML_ASSERT(expr)                           \
    (static_cast<bool>(expr) ? static_cast<void>(0) \
                             : ::courier::detail::toml_check_failed(#expr, __FILE__, __LINE__))
#define TOML_ASSERT_ASSUME(expr) TOML_ASSERT(expr)

#include <toml++/toml.h>
