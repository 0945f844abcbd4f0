#pragma once
/// @file
/// System V message queues: the kernel's limits, and the owner of a queue, which removes it.
/// A queue has no name to carry its owners (owner.hpp): the kernel's record of its last
/// sender and receiver does, stamped at setup (stamp_sender, stamp_receiver).

#include <cstddef>
#include <string>
#include <utility>

namespace courier::detail {

/// The mode courier's queues are made with: owner-only, and the execute bit, which means
/// nothing to a queue, tells courier's from other programs' (orphans.hpp).
constexpr unsigned sysv_queue_mode = 0700;
/// The type of the empty messages that stamp a queue's owners: above every type a link
/// reads (data lanes 1-256, the end marker 257), so no link ever takes one.
constexpr long owner_stamp_type = 258;

/// The limits in force, read from /proc/sys/kernel (the documented defaults when a
/// file cannot be read).
struct SysvLimits {
    std::size_t msgmax = 8192;   ///< largest message
    std::size_t msgmnb = 16384;  ///< bytes a queue holds
    /// "msgmax=8192, msgmnb=16384": for error messages.
    std::string describe() const;
};
/// Read once per process.
const SysvLimits& sysv_limits();
/// kernel.msgmnb as it is now (the default msg_qbytes of a new queue, and the most an
/// unprivileged process may set).
std::size_t current_msgmnb();

/// msg_qbytes of a queue (IPC_STAT). Throws std::system_error.
std::size_t sysv_queue_bytes(int id);
/// Sets msg_qbytes of a queue (IPC_SET). Above kernel.msgmnb without CAP_SYS_RESOURCE,
/// throws std::system_error(EPERM) saying so and what to change; other failures too.
void set_sysv_queue_bytes(int id, std::size_t bytes);

/// A System V message queue this process holds: removed (IPC_RMID) on destruction unless
/// released or removed before. Queues have no name, only an id the kernel may give to a
/// new queue once this one is gone, so each is removed at most once. The id stays
/// readable after removal: a thread blocked on the queue then fails with EIDRM, and a
/// call on it with EINVAL or EIDRM.
class SysvQueue {
  public:
    /// msgget(IPC_PRIVATE, IPC_CREAT | sysv_queue_mode): a new queue; throws
    /// std::system_error.
    static SysvQueue create();
    /// Takes charge of a queue another process created and handed over by id.
    static SysvQueue adopt(int id) noexcept { return SysvQueue(id); }
    SysvQueue() noexcept = default;
    SysvQueue(SysvQueue&& other) noexcept
        : id_(std::exchange(other.id_, -1)), owned_(std::exchange(other.owned_, false)) {}
    SysvQueue& operator=(SysvQueue&& other) noexcept {
        if (this != &other) {
            remove();
            id_ = std::exchange(other.id_, -1);
            owned_ = std::exchange(other.owned_, false);
        }
        return *this;
    }
    SysvQueue(const SysvQueue&) = delete;
    SysvQueue& operator=(const SysvQueue&) = delete;
    ~SysvQueue() { remove(); }

    /// -1 for no queue (default-constructed or moved from).
    int id() const noexcept { return id_; }
    /// Makes this process the queue's last sender (msg_lspid) with an empty message of
    /// owner_stamp_type, which stays (it costs no byte of the queue's room). Throws
    /// std::system_error.
    void stamp_sender();
    /// Makes this process the queue's last receiver (msg_lrpid): takes a stamp message,
    /// first sending one if there is none. Throws std::system_error.
    void stamp_receiver();
    /// IPC_RMID now, once; a queue already gone is not an error.
    void remove() noexcept;
    /// Leaves the queue in place, to whoever else removes it (the peer): no longer ours.
    int release() noexcept {
        owned_ = false;
        return id_;
    }

  private:
    explicit SysvQueue(int id) noexcept : id_(id), owned_(id >= 0) {}
    int id_ = -1;
    bool owned_ = false;  ///< not yet removed or released
};

}  // namespace courier::detail
