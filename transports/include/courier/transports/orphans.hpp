#pragma once
/// @file
/// What processes of this user left behind when they died: IPC objects whose owners all
/// are gone. courierd removes them when a node dies, a listener removes those of its own
/// name when it starts, and `courier clean` lists and removes them. Nothing of a running
/// process, nor of another user, is ever touched. docs/failures.md, "Nothing left behind".
///
/// How an object tells its owners:
/// - a named object (shared-memory segment, POSIX queue, FIFO) by its name,
///   `<base>.<pid>@<start>.<n>` (owner.hpp);
/// - a System V queue, which has no name, by the pids the kernel records: the listener
///   and the connector stamp them at setup (the last sender and the last receiver,
///   msg_lspid and msg_lrpid), and a link's traffic keeps them so. courier's queues are
///   private (IPC_PRIVATE) and made with mode 0700, which tells them from other programs'
///   (the execute bit means nothing to a queue);
/// - a socket file only by whether anybody still listens on it.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace courier {

/// An object whose owners all are gone.
struct Orphan {
    enum class Kind : std::uint8_t {
        shared_memory,  ///< a segment in /dev/shm
        posix_queue,    ///< a POSIX message queue (listed only where /dev/mqueue is mounted)
        fifo,           ///< a FIFO file
        sysv_queue,     ///< a System V message queue
        socket_file,    ///< a unix socket file nobody listens on
    };
    Kind kind = Kind::shared_memory;
    /// The path, the queue name ("/x"), or the System V queue's id.
    std::string name;
    /// The pids it records, none of them running; empty for a socket file.
    std::vector<pid_t> owners;

    /// "System V message queue 98311 (pids 4242, 4243: gone)".
    std::string describe() const;
};

/// Where to look. /dev/shm, /dev/mqueue (when mounted) and the System V queues are
/// always looked at; FIFOs and socket files live where endpoints put them.
struct OrphanSearch {
    std::vector<std::filesystem::path> fifo_dirs;     ///< directories of fifo: endpoints
    std::vector<std::filesystem::path> socket_files;  ///< unix: endpoints of dead processes
    /// Only named objects made for this base (`name` of shm:/name, a FIFO's file name);
    /// empty: all.
    std::string base;
    /// Only this kind; nullopt: all.
    std::optional<Orphan::Kind> only;
};

/// This user's orphans.
std::vector<Orphan> find_orphans(const OrphanSearch& where = {});
/// Removes one after looking again that its owners are gone; false (and why, in `error`)
/// if it could not or should not be.
bool remove_orphan(const Orphan& orphan, std::string* error = nullptr);
/// Finds and removes; returns what it removed.
std::vector<Orphan> remove_orphans(const OrphanSearch& where = {});

}  // namespace courier
