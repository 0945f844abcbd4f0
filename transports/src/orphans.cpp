#include <courier/transports/orphans.hpp>

#include "src/created_name.hpp"
#include "sysv/sysv_queue.hpp"

#include <courier/fd.hpp>
#include <courier/transports/owner.hpp>

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace courier {

namespace fs = std::filesystem;

namespace {

constexpr long mqueue_magic = 0x19800202;

const char* kind_name(Orphan::Kind kind) {
    switch (kind) {
        case Orphan::Kind::shared_memory:
            return "shared-memory segment";
        case Orphan::Kind::posix_queue:
            return "POSIX message queue";
        case Orphan::Kind::fifo:
            return "FIFO";
        case Orphan::Kind::sysv_queue:
            return "System V message queue";
        case Orphan::Kind::socket_file:
            return "socket file";
    }
    return "object";
}

bool wanted(const OrphanSearch& where, Orphan::Kind kind) {
    return !where.only || *where.only == kind;
}

/// The dead owner a named object of this user records, if it is one of ours and its
/// owner is gone.
std::optional<Owner> dead_owner(const fs::path& path, const std::string& base, bool fifo) {
    const auto named = parse_owned_name(path.filename().string());
    if (!named || (!base.empty() && named->base != base)) return std::nullopt;
    struct stat status {};
    if (::lstat(path.c_str(), &status) != 0 || status.st_uid != ::geteuid()) return std::nullopt;
    if (fifo ? !S_ISFIFO(status.st_mode) : !S_ISREG(status.st_mode)) return std::nullopt;
    if (named->owner.alive()) return std::nullopt;
    return named->owner;
}

void find_named(const fs::path& dir, Orphan::Kind kind, const OrphanSearch& where,
                std::vector<Orphan>& found) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(dir, error)) {
        const bool fifo = kind == Orphan::Kind::fifo;
        if (auto owner = dead_owner(entry.path(), where.base, fifo)) {
            std::string name;  // appended: GCC 12 misreads "/" + a string (-Wrestrict)
            if (kind == Orphan::Kind::posix_queue) name = "/";
            name += kind == Orphan::Kind::posix_queue ? entry.path().filename().string()
                                                      : entry.path().string();
            found.push_back(Orphan{kind, std::move(name), {owner->pid}});
        }
    }
}

bool mqueue_mounted() {
    struct statfs info {};
    return ::statfs("/dev/mqueue", &info) == 0 && static_cast<long>(info.f_type) == mqueue_magic;
}

/// A System V queue as the kernel lists it.
struct SysvEntry {
    long long key = 0;
    int id = -1;
    unsigned mode = 0;
    pid_t last_sender = 0;
    pid_t last_receiver = 0;
    uid_t uid = 0;
    uid_t creator = 0;
};

/// Whether a queue is courier's, of this user, and every pid it records has gone.
bool sysv_orphaned(const SysvEntry& q) {
    if (q.key != IPC_PRIVATE || (q.mode & 0777) != detail::sysv_queue_mode) return false;
    if (q.uid != ::geteuid() || q.creator != ::geteuid()) return false;
    if (q.last_sender == 0 && q.last_receiver == 0) return false;  // not stamped yet
    return (q.last_sender == 0 || !process_running(q.last_sender)) &&
           (q.last_receiver == 0 || !process_running(q.last_receiver));
}

std::vector<pid_t> sysv_owners(const SysvEntry& q) {
    std::vector<pid_t> owners;
    if (q.last_sender != 0) owners.push_back(q.last_sender);
    if (q.last_receiver != 0 && q.last_receiver != q.last_sender) owners.push_back(q.last_receiver);
    return owners;
}

void find_sysv(std::vector<Orphan>& found) {
    std::ifstream table("/proc/sysvipc/msg");
    std::string line;
    std::getline(table, line);  // the header
    while (std::getline(table, line)) {
        // key msqid perms(octal) cbytes qnum lspid lrpid uid gid cuid ...
        std::istringstream fields(line);
        SysvEntry q;
        long long cbytes = 0, qnum = 0;
        gid_t gid = 0;
        if (!(fields >> q.key >> q.id >> std::oct >> q.mode >> std::dec >> cbytes >> qnum >>
              q.last_sender >> q.last_receiver >> q.uid >> gid >> q.creator)) {
            continue;
        }
        if (sysv_orphaned(q))
            found.push_back(Orphan{Orphan::Kind::sysv_queue, std::to_string(q.id), sysv_owners(q)});
    }
}

/// Whether a listener answers at `path`: connect() is refused once nobody listens.
bool nobody_listens(const fs::path& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string text = path.string();
    if (text.size() >= sizeof(address.sun_path)) return false;
    std::memcpy(address.sun_path, text.data(), text.size());
    Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!probe) return false;
    const int knocked = ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address),
                                  static_cast<socklen_t>(sizeof(address)));
    return knocked != 0 && errno == ECONNREFUSED;
}

bool stale_socket_file(const fs::path& path) {
    struct stat status {};
    return ::lstat(path.c_str(), &status) == 0 && S_ISSOCK(status.st_mode) &&
           status.st_uid == ::geteuid() && nobody_listens(path);
}

}  // namespace

std::string Orphan::describe() const {
    std::string text = std::string(kind_name(kind)) + " " + name;
    if (owners.empty()) return text + " (nobody listens)";
    text += owners.size() == 1 ? " (pid " : " (pids ";
    for (std::size_t i = 0; i < owners.size(); ++i) {
        if (i > 0) text += ", ";
        text += std::to_string(owners[i]);
    }
    return text + ": gone)";
}

std::vector<Orphan> find_orphans(const OrphanSearch& where) {
    std::vector<Orphan> found;
    if (wanted(where, Orphan::Kind::shared_memory))
        find_named("/dev/shm", Orphan::Kind::shared_memory, where, found);
    if (wanted(where, Orphan::Kind::posix_queue) && mqueue_mounted())
        find_named("/dev/mqueue", Orphan::Kind::posix_queue, where, found);
    if (wanted(where, Orphan::Kind::fifo)) {
        for (const auto& dir : where.fifo_dirs) find_named(dir, Orphan::Kind::fifo, where, found);
    }
    if (wanted(where, Orphan::Kind::sysv_queue) && where.base.empty()) find_sysv(found);
    if (wanted(where, Orphan::Kind::socket_file)) {
        for (const auto& path : where.socket_files) {
            if (stale_socket_file(path))
                found.push_back(Orphan{Orphan::Kind::socket_file, path.string(), {}});
        }
    }
    return found;
}

bool remove_orphan(const Orphan& orphan, std::string* error) {
    const auto refuse = [&](const std::string& why) {
        if (error != nullptr) *error = why;
        return false;
    };
    SysResult removed;
    switch (orphan.kind) {
        case Orphan::Kind::shared_memory:
        case Orphan::Kind::fifo: {
            const bool fifo = orphan.kind == Orphan::Kind::fifo;
            if (!fs::exists(fs::symlink_status(orphan.name))) return true;  // gone already
            if (!dead_owner(orphan.name, {}, fifo)) return refuse("its owner runs");
            removed = fifo ? detail::remove_name(detail::NameKind::file, orphan.name)
                           : detail::remove_name(detail::NameKind::shared_memory,
                                                 fs::path(orphan.name).filename().string());
            break;
        }
        case Orphan::Kind::posix_queue: {
            const fs::path path = fs::path("/dev/mqueue") / orphan.name.substr(1);
            if (!fs::exists(fs::symlink_status(path))) return true;  // gone already
            if (!dead_owner(path, {}, false)) return refuse("its owner runs");
            removed = detail::remove_name(detail::NameKind::message_queue, orphan.name);
            break;
        }
        case Orphan::Kind::sysv_queue: {
            // Asked again by id: the kernel gives a removed queue's id to no new queue for
            // a long while (its sequence number), and this one must still be an orphan.
            const int id = std::stoi(orphan.name);
            msqid_ds info{};
            if (::msgctl(id, IPC_STAT, &info) != 0) return true;  // gone already
            SysvEntry q{info.msg_perm.__key, id,
                        info.msg_perm.mode,  info.msg_lspid,
                        info.msg_lrpid,      info.msg_perm.uid,
                        info.msg_perm.cuid};
            if (!sysv_orphaned(q)) return refuse("it is in use again");
            removed = COURIER_SYSCALL(::msgctl, id, IPC_RMID, static_cast<msqid_ds*>(nullptr));
            break;
        }
        case Orphan::Kind::socket_file:
            if (!stale_socket_file(orphan.name)) return refuse("somebody listens on it");
            removed = detail::remove_name(detail::NameKind::file, orphan.name);
            break;
    }
    if (!removed.ok() && removed.error != ENOENT && removed.error != EINVAL &&
        removed.error != EIDRM) {
        return refuse(std::strerror(removed.error));
    }
    return true;
}

std::vector<Orphan> remove_orphans(const OrphanSearch& where) {
    std::vector<Orphan> removed;
    for (auto& orphan : find_orphans(where)) {
        if (remove_orphan(orphan)) removed.push_back(std::move(orphan));
    }
    return removed;
}

}  // namespace courier
