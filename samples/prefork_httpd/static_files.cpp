#include "static_files.hpp"

#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

namespace httpd {

namespace {

std::optional<int> hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return std::nullopt;
}

std::optional<std::string> percent_decoded(std::string_view text) {
    std::string decoded;
    decoded.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            decoded += text[i];
            continue;
        }
        const auto high = i + 2 < text.size() ? hex_value(text[i + 1]) : std::nullopt;
        const auto low = high ? hex_value(text[i + 2]) : std::nullopt;
        if (!low) return std::nullopt;
        decoded += static_cast<char>(*high * 16 + *low);
        i += 2;
    }
    if (decoded.find('\0') != std::string::npos) return std::nullopt;
    return decoded;
}

/// Opens `path` beneath the directory `dir`: no `..`, absolute path or symlink may lead
/// out of it (EXDEV then). On a kernel without openat2 (before 5.6), a plain openat: the
/// path was resolved by hand already, only symlinks could then lead out.
courier::SysResult open_beneath(int dir, const std::string& path) {
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;  // a FIFO must not block us
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    auto opened = COURIER_SYSCALL(::syscall, SYS_openat2, dir, path.c_str(), &how, sizeof how);
    if (opened.error == ENOSYS)
        opened = COURIER_SYSCALL(::openat, dir, path.c_str(), static_cast<int>(how.flags));
    return opened;
}

StaticFile refusal(int status, std::string reason) {
    StaticFile refused;
    refused.status = status;
    refused.reason = std::move(reason);
    return refused;
}

StaticFile failure(int error) {
    switch (error) {
        case ENOENT:
        case ENOTDIR:
        case ELOOP:
        case ENAMETOOLONG:
        case EXDEV:  // a symlink that leads out of the root: as if there were nothing
            return refusal(404, "not found");
        case EACCES:
        case EPERM:
            return refusal(403, "forbidden");
        default:
            return refusal(500, "cannot open the file");
    }
}

}  // namespace

std::optional<std::string> target_path(std::string_view target) {
    target = target.substr(0, target.find_first_of("?#"));
    const auto decoded = percent_decoded(target);
    if (!decoded) return std::nullopt;
    // Resolved after decoding, on the bytes the kernel will see: %2e%2e is `..` too.
    std::vector<std::string_view> segments;
    std::string_view rest = *decoded;
    while (!rest.empty()) {
        const std::size_t slash = rest.find('/');
        const std::string_view segment = rest.substr(0, slash);
        rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
        if (segment.empty() || segment == ".") continue;
        if (segment != "..") {
            segments.push_back(segment);
        } else if (segments.empty()) {
            return std::nullopt;  // above the root
        } else {
            segments.pop_back();
        }
    }
    std::string path;
    for (const auto segment : segments) {
        if (!path.empty()) path += '/';
        path += segment;
    }
    return path;
}

std::string_view content_type_of(std::string_view file_name) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 12> types{{
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"txt", "text/plain; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"svg", "image/svg+xml"},
        {"ico", "image/vnd.microsoft.icon"},
    }};
    const std::size_t slash = file_name.rfind('/');
    const std::size_t dot = file_name.rfind('.');
    if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
        return "application/octet-stream";
    std::string extension(file_name.substr(dot + 1));
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
    for (const auto& [known, type] : types)
        if (extension == known) return type;
    return "application/octet-stream";
}

StaticFile open_static(int root, std::string_view target) {
    auto path = target_path(target);
    if (!path) return refusal(400, "the path leaves the root, or is badly encoded");
    auto opened = open_beneath(root, path->empty() ? "." : *path);
    if (!opened.ok()) return failure(opened.error);
    StaticFile found;
    found.file = courier::Fd(static_cast<int>(opened.value));
    struct stat status {};
    if (::fstat(found.file.get(), &status) != 0) return failure(errno);
    if (S_ISDIR(status.st_mode)) {  // its index.html, beneath it (so beneath the root)
        opened = open_beneath(found.file.get(), "index.html");
        if (!opened.ok()) return failure(opened.error);
        found.file = courier::Fd(static_cast<int>(opened.value));
        *path += path->empty() ? "index.html" : "/index.html";
        if (::fstat(found.file.get(), &status) != 0) return failure(errno);
    }
    if (!S_ISREG(status.st_mode)) return refusal(404, "not found");  // a FIFO, a device...
    found.size = static_cast<std::uint64_t>(status.st_size);
    found.content_type = content_type_of(*path);
    return found;
}

}  // namespace httpd
