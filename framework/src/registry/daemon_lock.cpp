#include "registry/daemon_lock.hpp"

#include <courier/framework/runtime_dir.hpp>
#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace courier::registry {

std::optional<DaemonLock> DaemonLock::try_acquire(const std::filesystem::path& runtime_dir) {
    auto path = registry_lock_path(runtime_dir);
    // A courierd exiting on idle unlinks the file it holds; if we opened that file just
    // before, our lock on it means nothing, so check that the path still names our inode.
    for (int attempt = 0; attempt < 100; ++attempt) {
        Fd fd(static_cast<int>(
            COURIER_SYSCALL(::open, path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, mode_t{0600})
                .value_or_throw("cannot open " + path.string())));
        auto locked = COURIER_SYSCALL(::flock, fd.get(), LOCK_EX | LOCK_NB);
        if (!locked.ok()) {
            if (locked.error == EWOULDBLOCK) return std::nullopt;
            locked.value_or_throw("cannot lock " + path.string());
        }
        struct stat held {};
        struct stat named {};
        if (!COURIER_SYSCALL(::fstat, fd.get(), &held).ok()) continue;
        if (!COURIER_SYSCALL(::stat, path.c_str(), &named).ok()) continue;  // unlinked: retry
        if (held.st_ino != named.st_ino || held.st_dev != named.st_dev) continue;

        // The pid is for people reading the file; failing to write it changes nothing.
        std::string pid = std::to_string(::getpid()) + "\n";
        if (COURIER_SYSCALL(::ftruncate, fd.get(), off_t{0}).ok())
            (void)COURIER_SYSCALL(::pwrite, fd.get(), pid.data(), pid.size(), off_t{0});
        return DaemonLock(std::move(path), std::move(fd));
    }
    throw std::system_error(EAGAIN, std::generic_category(),
                            "cannot lock " + path.string() + ": it keeps being replaced");
}

void DaemonLock::remove() noexcept {
    if (!fd_) return;
    (void)COURIER_SYSCALL(::unlink, path_.c_str());
    fd_.reset();
}

}  // namespace courier::registry
