#include "sysv/sysv_queue.hpp"

#include <courier/transports/posix_call.hpp>

#include <sys/ipc.h>
#include <sys/msg.h>

#include <fstream>

namespace courier::detail {

namespace {

std::size_t read_limit(const char* path, std::size_t fallback) {
    std::ifstream in(path);
    long long value = 0;
    if (in >> value && value > 0) return static_cast<std::size_t>(value);
    return fallback;
}

}  // namespace

std::string SysvLimits::describe() const {
    return "msgmax=" + std::to_string(msgmax) + ", msgmnb=" + std::to_string(msgmnb);
}

const SysvLimits& sysv_limits() {
    static const SysvLimits limits = [] {
        SysvLimits l;
        l.msgmax = read_limit("/proc/sys/kernel/msgmax", l.msgmax);
        l.msgmnb = read_limit("/proc/sys/kernel/msgmnb", l.msgmnb);
        return l;
    }();
    return limits;
}

SysvQueue SysvQueue::create() {
    const auto id = COURIER_SYSCALL(::msgget, IPC_PRIVATE, IPC_CREAT | 0600)
                        .value_or_throw(
                            "create a System V message queue (msgmni limit: "
                            "/proc/sys/kernel/msgmni)");
    return SysvQueue(static_cast<int>(id));
}

void SysvQueue::remove() noexcept {
    if (id_ >= 0) remove_sysv_queue(std::exchange(id_, -1));
}

void remove_sysv_queue(int id) noexcept {
    if (id >= 0) (void)COURIER_SYSCALL(::msgctl, id, IPC_RMID, static_cast<msqid_ds*>(nullptr));
}

}  // namespace courier::detail
