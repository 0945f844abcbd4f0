#include "http_request.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace httpd {

namespace {

constexpr auto npos = std::string_view::npos;

/// RFC 9110's tchar, what methods and header names are made of; spelled out rather than
/// std::isalnum, whose answer depends on the locale.
bool is_token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != npos;
}

bool is_token(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

/// A control character, which no field value may hold (a tab may).
bool is_control(char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
}

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

/// Just past the blank line that ends a head starting at text[0], or npos before it came.
/// A line ends with CRLF or a bare LF.
std::size_t head_end(std::string_view text) {
    for (std::size_t i = text.find('\n'); i != npos; i = text.find('\n', i + 1)) {
        std::size_t next = i + 1;
        if (next < text.size() && text[next] == '\r') ++next;
        if (next < text.size() && text[next] == '\n') return next + 1;
    }
    return npos;
}

/// Takes the first line off `text`, without its line end.
std::string_view take_line(std::string_view& text) {
    const std::size_t lf = text.find('\n');
    std::string_view line = text.substr(0, lf);
    text.remove_prefix(lf == npos ? text.size() : lf + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

Parsed refuse(int status, std::string reason) {
    Parsed parsed;
    parsed.outcome = Parsed::Outcome::refused;
    parsed.status = status;
    parsed.reason = std::move(reason);
    return parsed;
}

/// "HTTP/1.1" -> 1. nullopt for what is no HTTP version at all; -1 for a version other
/// than 1.x (answered 505).
std::optional<int> minor_version(std::string_view version) {
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !digit(version[5]) ||
        version[6] != '.' || !digit(version[7]))
        return std::nullopt;
    if (version[5] != '1') return -1;
    return std::min(version[7] - '0', 1);  // 1.2 and later are answered as 1.1 (RFC 9110)
}

/// The Content-Length value: one plain decimal number.
std::optional<std::uint64_t> content_length(std::string_view value) {
    std::uint64_t length = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (value.empty() || error != std::errc() || end != value.data() + value.size())
        return std::nullopt;
    return length;
}

/// What the Connection header asks for: `close`, `keep-alive`, or neither.
void connection_options(std::string_view value, bool& close, bool& keep_alive) {
    while (!value.empty()) {
        const std::size_t comma = value.find(',');
        const std::string_view option = trim(value.substr(0, comma));
        if (equals_ignoring_case(option, "close")) close = true;
        if (equals_ignoring_case(option, "keep-alive")) keep_alive = true;
        value.remove_prefix(comma == npos ? value.size() : comma + 1);
    }
}

}  // namespace

Parsed parse_request(std::string_view bytes, std::size_t max_head) {
    // Empty lines before a request are skipped (RFC 9112 2.2); they count toward the limit.
    std::size_t start = 0;
    while (start < bytes.size() && (bytes[start] == '\r' || bytes[start] == '\n')) ++start;
    const std::size_t end = head_end(bytes.substr(start));
    if (end == npos) {
        if (bytes.size() > max_head) return refuse(413, "request head larger than 8 KiB");
        return Parsed{};
    }
    if (start + end > max_head) return refuse(413, "request head larger than 8 KiB");

    std::string_view head = bytes.substr(start, end);
    if (head.find('\0') != npos) return refuse(400, "NUL in the request head");
    Parsed parsed;
    parsed.outcome = Parsed::Outcome::request;
    parsed.head_size = start + end;
    Request& request = parsed.request;

    // The request line: method SP target SP version, single spaces, nothing else.
    const std::string_view line = take_line(head);
    const std::size_t first = line.find(' ');
    const std::size_t second = first == npos ? npos : line.find(' ', first + 1);
    if (second == npos || line.find(' ', second + 1) != npos)
        return refuse(400, "malformed request line");
    const std::string_view method = line.substr(0, first);
    const std::string_view target = line.substr(first + 1, second - first - 1);
    const auto minor = minor_version(line.substr(second + 1));
    if (!is_token(method)) return refuse(400, "malformed method");
    if (target.empty() || target.front() != '/' ||
        !std::all_of(target.begin(), target.end(), [](char c) { return c > ' ' && c < 0x7f; }))
        return refuse(400, "malformed request target");
    if (!minor) return refuse(400, "malformed HTTP version");
    if (*minor < 0) return refuse(505, "only HTTP/1.0 and HTTP/1.1 are served");
    request.method = method;
    request.target = target;
    request.minor = *minor;

    // The header fields: name ":" OWS value OWS. Only a few matter to a static server.
    int hosts = 0;
    bool close = false;
    bool keep_alive = false;
    std::optional<std::uint64_t> length;
    while (!head.empty()) {
        const std::string_view field = take_line(head);
        if (field.empty()) break;  // the blank line
        if (field.front() == ' ' || field.front() == '\t')
            return refuse(400, "folded header line");  // obs-fold, refused as RFC 9112 allows
        const std::size_t colon = field.find(':');
        const std::string_view name = field.substr(0, colon);
        if (colon == npos || !is_token(name)) return refuse(400, "malformed header field");
        const std::string_view value = trim(field.substr(colon + 1));
        if (std::any_of(value.begin(), value.end(), is_control))
            return refuse(400, "control character in a header value");
        if (equals_ignoring_case(name, "host")) {
            ++hosts;
        } else if (equals_ignoring_case(name, "connection")) {
            connection_options(value, close, keep_alive);
        } else if (equals_ignoring_case(name, "transfer-encoding")) {
            return refuse(501, "Transfer-Encoding is not supported");
        } else if (equals_ignoring_case(name, "content-length")) {
            const auto parsed_length = content_length(value);
            if (!parsed_length || (length && *length != *parsed_length))
                return refuse(400, "malformed Content-Length");
            length = parsed_length;
        }
    }
    if (request.minor >= 1 ? hosts != 1 : hosts > 1)
        return refuse(400, hosts == 0 ? "an HTTP/1.1 request needs a Host header"
                                      : "more than one Host header");
    request.keep_alive = request.minor >= 1 ? !close : keep_alive && !close;
    request.body_length = length.value_or(0);
    return parsed;
}

}  // namespace httpd
