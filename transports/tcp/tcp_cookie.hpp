#pragma once
/// @file
/// The cookie of tcp: links: a secret in a file only its owner can read, which both ends
/// of a link prove they know before any frame (tcp_handshake.hpp). Whoever can read the
/// file is trusted as its owner is, as with ssh-agent's socket or Erlang's cookie
/// (docs/security.md). Private to courier_transports.
///
/// Where it is: the file `COURIER_COOKIE` names; else `$XDG_CONFIG_HOME/courier/cookie`;
/// else `~/.config/courier/cookie`. A missing default file is created on first use, with
/// 32 random bytes (hex), mode 0600, in a directory of mode 0700. A file named by
/// `COURIER_COOKIE` is never created: a wrong path must not pass for a fresh secret.

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace courier::detail {

struct TcpCookie {
    std::vector<unsigned char> secret;
    std::filesystem::path path;  ///< for messages
};

/// Where the cookie is, and whether it may be created there (the default place).
struct CookieLocation {
    std::filesystem::path path;
    bool may_create = false;
};
CookieLocation cookie_location();

/// Reads the cookie at `where`, creating it if it is missing and may be. Throws
/// std::runtime_error saying what is wrong and what to do: a file or directory owned by
/// someone else, readable or writable by others, not a regular file, shorter than 16
/// bytes or longer than 4 KiB, or that cannot be read or created.
TcpCookie load_cookie(const CookieLocation& where);

/// The smallest secret accepted, in bytes.
inline constexpr std::size_t min_cookie_size = 16;

}  // namespace courier::detail
