#pragma once
/// @file
/// The heads of HTTP/1.1 responses, and whole short ones (errors, /stats) with a text body.

#include <cstdint>
#include <string>
#include <string_view>

namespace httpd {

/// What a response head says besides its status.
struct ResponseHead {
    int status = 200;
    std::string_view content_type = "text/plain; charset=utf-8";
    std::uint64_t content_length = 0;
    /// The connection stays open after it. Said in a header when it differs from the
    /// default of the request's version (close for 1.0, keep-alive for 1.1).
    bool keep_alive = true;
    int minor = 1;                   ///< the request's HTTP/1.<minor>
    std::string_view extra_headers;  ///< whole lines, each ending with CRLF ("Allow: GET\r\n")
};

/// "Not Found" for 404; "Unknown" for a status this server never sends.
std::string_view reason_phrase(int status);

/// The status line and headers, ending with the blank line.
std::string response_head(const ResponseHead& head);

/// A whole response whose body is `text`: the head only when `head_only` (HEAD), which
/// still says the body's length.
std::string text_response(ResponseHead head, std::string_view text, bool head_only);

}  // namespace httpd
