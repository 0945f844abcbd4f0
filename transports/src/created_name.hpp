#pragma once
/// @file
/// The name of a kernel object this process created — a file (FIFO, socket file), a POSIX
/// message queue, a POSIX shared-memory segment — and the one way courier_transports
/// removes such names. The creator owns a named object: it removes the name when it no
/// longer needs it (for the rendezvous transports, as soon as every end is open), and
/// clears what a crashed predecessor left (remove_name). Private to courier_transports.

#include <courier/posix_call.hpp>

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace courier::detail {

/// Where a kernel object's name lives, which says how the name is removed.
enum class NameKind : std::uint8_t {
    file,           ///< a path: unlink(2)
    message_queue,  ///< "/name": mq_unlink(3)
    shared_memory,  ///< "name" as Boost.Interprocess takes it: shm_unlink(3) of "/name"
};

/// Removes a name now: one a dead process left behind, or one handed over by its creator
/// to be removed once used. Failure (ENOENT when it is gone already) is the caller's to
/// judge.
SysResult remove_name(NameKind kind, const std::string& name) noexcept;

/// A name this process gave a kernel object: removed on destruction unless released or
/// removed before. Removing the name leaves the object to those who have it open. A file
/// is removed only while it is still the one this process made (the same device and
/// inode): a successor that replaced it keeps its own.
class CreatedName {
  public:
    CreatedName() noexcept = default;
    /// Takes charge of `name`, which this process has just created.
    CreatedName(NameKind kind, std::string name);
    CreatedName(CreatedName&& other) noexcept;
    /// Removes the name it holds, then takes `other`'s.
    CreatedName& operator=(CreatedName&& other) noexcept;
    CreatedName(const CreatedName&) = delete;
    CreatedName& operator=(const CreatedName&) = delete;
    ~CreatedName() { remove(); }

    /// The name; empty once removed, released or moved from.
    const std::string& name() const noexcept { return name_; }
    /// Removes the name now, once.
    void remove() noexcept;
    /// Keeps the name in place and hands it back: no longer this guard's to remove.
    std::string release() noexcept;

  private:
    NameKind kind_ = NameKind::file;
    std::string name_;
    dev_t device_ = 0;  ///< of a file: which one it created
    ino_t inode_ = 0;
};

}  // namespace courier::detail
