#pragma once
/// @file
/// An endpoint is a URI: `scheme:address`, e.g. `unix:/run/user/1000/courier/a.sock`,
/// `unix:@courier-a` (abstract namespace) or `tcp://127.0.0.1:7000`. The scheme picks the
/// transport; only that transport interprets the address.

#include <string>
#include <string_view>

namespace courier {

struct Endpoint {
    std::string scheme;   ///< "unix", "tcp", ...
    std::string address;  ///< everything after "scheme:" (and after "//" when present)

    /// Parses "scheme:address" or "scheme://address" (both name the same endpoint). The
    /// scheme matches [a-z][a-z0-9+.-]*; the address must not be empty and must not
    /// contain a NUL byte. Throws std::invalid_argument, naming the URI and the reason.
    static Endpoint parse(std::string_view uri);
    /// The URI form, as parse() accepts it: "scheme:address" for path-like and plain
    /// addresses ("unix:/run/a.sock", "unix:@name"), "scheme://address" for host:port
    /// style ones ("tcp://127.0.0.1:7000"). parse(e.to_string()) == e always holds.
    std::string to_string() const;

    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

/// The endpoint of the local stream socket at filesystem path `path` (the socket file a
/// listener on it binds), so that code outside transports/ need not name the scheme.
Endpoint local_socket_endpoint(std::string_view path);

}  // namespace courier
