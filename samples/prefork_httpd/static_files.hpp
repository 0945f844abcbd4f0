#pragma once
/// @file
/// The files under the root a request names. Two locks on the root: the path is resolved
/// by hand first (a `..` that would climb above the root is refused with 400, also when
/// percent-encoded), then the kernel opens it beneath the root's descriptor
/// (openat2 RESOLVE_BENEATH), so that no symlink leads out either (404).

#include <courier/fd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace httpd {

/// A file to send, open, or why there is none.
struct StaticFile {
    int status = 200;  ///< 200, else 400, 403, 404 or 500
    courier::Fd file;
    std::uint64_t size = 0;
    std::string_view content_type;
    std::string reason;  ///< when status is not 200
};

/// The path `target` names relative to the root: its query dropped, percent-decoded, its
/// `.` and `..` segments resolved; "" for the root itself. nullopt when it would climb
/// above the root, or holds a bad escape or a NUL.
std::optional<std::string> target_path(std::string_view target);

/// The media type for a file name's extension; application/octet-stream when unknown.
std::string_view content_type_of(std::string_view file_name);

/// Opens the regular file `target` names beneath `root` (a directory's descriptor); a
/// directory's index.html stands for it. Never lists a directory.
StaticFile open_static(int root, std::string_view target);

}  // namespace httpd
