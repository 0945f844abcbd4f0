#include "systemd.hpp"

#include <courier/posix_call.hpp>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>

namespace courierd {

namespace {

[[noreturn]] void refuse(const std::string& what) {
    throw std::runtime_error("the socket systemd passed (fd " +
                             std::to_string(SD_LISTEN_FDS_START) + ") " + what +
                             " (see contrib/systemd/courierd.socket)");
}

/// What makes `fd` unfit to serve the registry on, in words; empty when it is fit.
std::string unfit(int fd) {
    if (sd_is_socket(fd, AF_UNSPEC, 0, -1) <= 0) return "is not a socket";
    if (sd_is_socket(fd, AF_UNIX, 0, -1) <= 0) return "is not an AF_UNIX socket";
    if (sd_is_socket(fd, AF_UNIX, SOCK_STREAM, -1) <= 0)
        return "is not a stream socket (ListenDatagram= or ListenSequentialPacket=?)";
    if (sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) <= 0)
        return "is not listening (Accept=yes? courierd wants Accept=no)";
    return {};
}

}  // namespace

std::optional<courier::Fd> socket_from_systemd(const std::filesystem::path& socket_path) {
    // Unsets LISTEN_* (the 1), so that nothing courierd starts takes them for its own.
    const int count = sd_listen_fds(1);
    if (count < 0)
        throw std::runtime_error(std::string("cannot read the sockets systemd passed: ") +
                                 std::strerror(-count));
    if (count == 0) return std::nullopt;
    courier::Fd socket(SD_LISTEN_FDS_START);
    // The others are closed as we refuse them: Fd owns each.
    for (int extra = 1; extra < count; ++extra) courier::Fd(SD_LISTEN_FDS_START + extra).reset();
    if (count > 1) refuse("came with " + std::to_string(count - 1) + " more: courierd serves one");
    if (auto why = unfit(socket.get()); !why.empty()) refuse(why);

    sockaddr_un address{};
    socklen_t length = sizeof address;
    COURIER_SYSCALL(::getsockname, socket.get(), reinterpret_cast<sockaddr*>(&address), &length)
        .value_or_throw("the socket systemd passed");
    const auto path_length = length - offsetof(sockaddr_un, sun_path);
    if (path_length == 0 || address.sun_path[0] == '\0')
        refuse("is an abstract or unnamed socket; nodes look for the file " + socket_path.string());
    const std::filesystem::path bound(
        std::string(address.sun_path, ::strnlen(address.sun_path, path_length)));
    // Nodes find the registry by its path: a socket elsewhere would never see one. Compared
    // by inode, as std::filesystem::equivalent will not compare sockets.
    struct stat at_bound {};
    struct stat at_path {};
    const bool same = COURIER_SYSCALL(::stat, bound.c_str(), &at_bound).ok() &&
                      COURIER_SYSCALL(::stat, socket_path.c_str(), &at_path).ok() &&
                      at_bound.st_dev == at_path.st_dev && at_bound.st_ino == at_path.st_ino;
    if (!same)
        refuse("is bound at " + bound.string() + ", but nodes of this runtime directory look for " +
               socket_path.string() + ": make --runtime-dir and ListenStream= agree");
    return socket;
}

void notify_systemd(const char* state) noexcept {
    const int sent = sd_notify(0, state);
    if (sent < 0) spdlog::warn("cannot tell systemd {}: {}", state, std::strerror(-sent));
}

}  // namespace courierd
