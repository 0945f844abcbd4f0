#pragma once
/// @file
/// The head of an HTTP/1.x request, parsed from the bytes at the front of a connection's
/// buffer. Written by hand because the HTTP library Debian packages (cpp-httplib 0.11)
/// only serves sockets it accepted itself (README.md, "Why not a library").
///
/// Strict where leniency would be a risk (the request line, header names, framing:
/// Transfer-Encoding is refused, a Content-Length must be one plain number) and lenient
/// where RFC 9112 asks for it (empty lines before the request, a bare LF for CRLF).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace httpd {

/// How many bytes a request's head (request line, headers, blank line) may take.
inline constexpr std::size_t max_head_bytes = 8 * 1024;

struct Request {
    std::string method;
    std::string target;  ///< as sent: starts with '/', may hold a query
    int minor = 1;       ///< HTTP/1.<minor>
    bool keep_alive = true;
    std::uint64_t body_length = 0;  ///< from Content-Length: bytes that follow the head
};

/// What the front of a buffer holds.
struct Parsed {
    enum class Outcome {
        incomplete,  ///< no whole head yet: read more
        request,     ///< `request`, whose head took `head_size` bytes
        refused,     ///< answer `status` (400, 413, 501, 505) and close: framing is lost
    };
    Outcome outcome = Outcome::incomplete;
    Request request;
    std::size_t head_size = 0;
    int status = 0;
    std::string reason;  ///< why it was refused, for the response's body
};

/// Parses the request head at the front of `bytes`. A head longer than `max_head` is
/// refused with 413 as soon as that many bytes came without its end.
Parsed parse_request(std::string_view bytes, std::size_t max_head = max_head_bytes);

}  // namespace httpd
