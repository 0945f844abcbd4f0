#include <courier/transports/endpoint.hpp>
#include <courier/transports/transport.hpp>

#include <cstdint>
#include <cstdio>

#include <stdexcept>

namespace courier {

namespace {

/// The URI as it can be shown in a message: control bytes (a NUL would cut what())
/// are written as \xHH.
std::string printable(std::string_view uri) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (char c : uri) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            out += "\\x";
            out += hex[byte >> 4];
            out += hex[byte & 0xfU];
        } else {
            out += c;
        }
    }
    return out;
}

[[noreturn]] void invalid(std::string_view uri, std::string_view why) {
    std::string message = "invalid endpoint \"";
    message += printable(uri);
    message += "\": ";
    message += why;
    message += " (expected scheme:address, e.g. unix:/run/app.sock or tcp://127.0.0.1:7000)";
    throw std::invalid_argument(message);
}

bool is_lower(char c) {
    return c >= 'a' && c <= 'z';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace

Endpoint Endpoint::parse(std::string_view uri) {
    const auto colon = uri.find(':');
    if (colon == std::string_view::npos) invalid(uri, "no ':' after the scheme");
    const std::string_view scheme = uri.substr(0, colon);
    if (scheme.empty()) invalid(uri, "the scheme is empty");
    if (!is_lower(scheme.front())) invalid(uri, "the scheme must start with a lower-case letter");
    for (char c : scheme) {
        if (!is_lower(c) && !is_digit(c) && c != '+' && c != '.' && c != '-') {
            invalid(uri, "the scheme may only hold a-z, 0-9, '+', '.' and '-'");
        }
    }
    std::string_view address = uri.substr(colon + 1);
    if (address.starts_with("//")) address.remove_prefix(2);
    if (address.empty()) invalid(uri, "the address is empty");
    if (address.find('\0') != std::string_view::npos) invalid(uri, "the address holds a NUL byte");
    return Endpoint{std::string(scheme), std::string(address)};
}

Endpoint local_socket_endpoint(std::string_view path) {
    return Endpoint{"unix", std::string(path)};
}

std::string Endpoint::to_string() const {
    const std::string_view a = address;
    // "//x" must be written "scheme:////x", or parse() would strip its slashes;
    // host:port addresses read best in the authority form most tools print.
    const bool path_like = a.starts_with('/') || a.starts_with('@');
    const bool authority = a.starts_with("//") || (!path_like && a.find(':') != a.npos);
    return scheme + (authority ? "://" : ":") + address;
}

}  // namespace courier

namespace courier {

std::string EndpointHint::tag() const {
    constexpr std::size_t keep = 20;
    std::string safe;
    bool changed = node.size() > keep;
    for (char c : node.substr(0, keep)) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        safe += ok ? c : '_';
        changed |= !ok;
    }
    std::string tag = "courier." + std::to_string(pid) + "." + safe;
    if (changed) {
        std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a of the whole name
        for (char c : node) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
        char hex[9];
        std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(hash & 0xffffffffU));
        tag += std::string(".") + hex;
    }
    return tag;
}

}  // namespace courier
