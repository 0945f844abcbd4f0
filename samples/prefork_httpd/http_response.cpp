#include "http_response.hpp"

#include <array>
#include <ctime>

namespace httpd {

namespace {

/// The Date header's value (RFC 9110 5.6.7), made once a second: every response has one.
std::string_view http_date() {
    thread_local std::time_t made_at = 0;
    thread_local std::array<char, 64> text{};
    thread_local std::size_t length = 0;
    const std::time_t now = std::time(nullptr);
    if (now != made_at) {
        std::tm utc{};
        ::gmtime_r(&now, &utc);
        length = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &utc);
        made_at = now;
    }
    return {text.data(), length};
}

}  // namespace

std::string_view reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 413:
            return "Content Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 503:
            return "Service Unavailable";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Unknown";
    }
}

std::string response_head(const ResponseHead& head) {
    std::string text;
    text.reserve(192 + head.extra_headers.size());
    text += "HTTP/1.1 ";
    text += std::to_string(head.status);
    text += ' ';
    text += reason_phrase(head.status);
    text += "\r\nServer: prefork_httpd\r\nDate: ";
    text += http_date();
    text += "\r\nContent-Type: ";
    text += head.content_type;
    text += "\r\nContent-Length: ";
    text += std::to_string(head.content_length);
    text += "\r\n";
    if (!head.keep_alive && head.minor >= 1) text += "Connection: close\r\n";
    if (head.keep_alive && head.minor == 0) text += "Connection: keep-alive\r\n";
    text += head.extra_headers;
    text += "\r\n";
    return text;
}

std::string text_response(ResponseHead head, std::string_view text, bool head_only) {
    head.content_length = text.size();
    std::string response = response_head(head);
    if (!head_only) response += text;
    return response;
}

}  // namespace httpd
