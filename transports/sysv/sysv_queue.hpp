#pragma once
/// @file
/// System V message queues: the kernel's limits, and an owner that removes a queue.

#include <cstddef>
#include <string>
#include <utility>

namespace courier::detail {

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

/// A private queue (IPC_PRIVATE, 0600) that is removed (IPC_RMID) on destruction
/// unless released: the listener's guard while it sets a link up.
class SysvQueue {
  public:
    /// msgget(IPC_PRIVATE, IPC_CREAT | 0600); throws std::system_error.
    static SysvQueue create();
    SysvQueue() noexcept = default;
    SysvQueue(SysvQueue&& other) noexcept : id_(std::exchange(other.id_, -1)) {}
    SysvQueue& operator=(SysvQueue&& other) noexcept {
        if (this != &other) {
            remove();
            id_ = std::exchange(other.id_, -1);
        }
        return *this;
    }
    SysvQueue(const SysvQueue&) = delete;
    SysvQueue& operator=(const SysvQueue&) = delete;
    ~SysvQueue() { remove(); }

    int id() const noexcept { return id_; }
    int release() noexcept { return std::exchange(id_, -1); }
    /// IPC_RMID, once; a queue already gone is not an error.
    void remove() noexcept;

  private:
    explicit SysvQueue(int id) noexcept : id_(id) {}
    int id_ = -1;
};

/// IPC_RMID on a queue id; ignores EINVAL/EIDRM (already removed).
void remove_sysv_queue(int id) noexcept;

}  // namespace courier::detail
