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

    /// Parses "scheme:address" or "scheme://address". The scheme is lower-case letters
    /// and digits; the address must not be empty. Throws std::invalid_argument otherwise.
    static Endpoint parse(std::string_view uri);
    /// The URI form, as parse() accepts it.
    std::string to_string() const;

    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

}  // namespace courier
