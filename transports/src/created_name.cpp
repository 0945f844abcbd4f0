#include "src/created_name.hpp"

#include <fcntl.h>
#include <mqueue.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

namespace courier::detail {

SysResult remove_name(NameKind kind, const std::string& name) noexcept {
    switch (kind) {
        case NameKind::message_queue:
            return COURIER_SYSCALL(::mq_unlink, name.c_str());
        case NameKind::shared_memory: {
            const std::string posix_name = name.starts_with('/') ? name : "/" + name;
            return COURIER_SYSCALL(::shm_unlink, posix_name.c_str());
        }
        case NameKind::file:
            break;
    }
    return COURIER_SYSCALL(::unlink, name.c_str());
}

CreatedName::CreatedName(NameKind kind, std::string name) : kind_(kind), name_(std::move(name)) {
    struct stat status {};
    if (kind_ == NameKind::file && ::lstat(name_.c_str(), &status) == 0) {
        device_ = status.st_dev;
        inode_ = status.st_ino;
    }
}

CreatedName::CreatedName(CreatedName&& other) noexcept
    : kind_(other.kind_),
      name_(std::exchange(other.name_, {})),
      device_(other.device_),
      inode_(other.inode_) {}

CreatedName& CreatedName::operator=(CreatedName&& other) noexcept {
    if (this != &other) {
        remove();
        kind_ = other.kind_;
        name_ = std::exchange(other.name_, {});
        device_ = other.device_;
        inode_ = other.inode_;
    }
    return *this;
}

void CreatedName::remove() noexcept {
    if (name_.empty()) return;
    const std::string name = std::exchange(name_, {});
    if (kind_ == NameKind::file) {
        struct stat status {};
        if (::lstat(name.c_str(), &status) != 0) return;                  // gone already
        if (status.st_dev != device_ || status.st_ino != inode_) return;  // not ours any more
    }
    (void)remove_name(kind_, name);
}

std::string CreatedName::release() noexcept {
    return std::exchange(name_, {});
}

}  // namespace courier::detail
