#include "sysv/sysv_queue.hpp"

#include <courier/posix_call.hpp>

#include <sys/ipc.h>
#include <sys/msg.h>

#include <fstream>
#include <system_error>
#include <utility>

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

std::size_t current_msgmnb() {
    return read_limit("/proc/sys/kernel/msgmnb", SysvLimits{}.msgmnb);
}

std::size_t sysv_queue_bytes(int id) {
    msqid_ds info{};
    COURIER_SYSCALL(::msgctl, id, IPC_STAT, &info)
        .value_or_throw("read msg_qbytes of System V queue " + std::to_string(id));
    return static_cast<std::size_t>(info.msg_qbytes);
}

void set_sysv_queue_bytes(int id, std::size_t bytes) {
    const std::string context = "set msg_qbytes of System V queue " + std::to_string(id) + " to " +
                                std::to_string(bytes) + " (max_bytes)";
    msqid_ds info{};
    COURIER_SYSCALL(::msgctl, id, IPC_STAT, &info).value_or_throw(context);
    info.msg_qbytes = static_cast<msglen_t>(bytes);
    const auto set = COURIER_SYSCALL(::msgctl, id, IPC_SET, &info);
    if (set.ok()) return;
    if (set.error == EPERM) {
        const std::size_t msgmnb = current_msgmnb();
        throw std::system_error(
            EPERM, std::generic_category(),
            "sysv: max_bytes = " + std::to_string(bytes) +
                " is above kernel.msgmnb = " + std::to_string(msgmnb) +
                ", and only a process with CAP_SYS_RESOURCE may raise a queue above it; "
                "lower max_bytes or raise the limit (sysctl -w kernel.msgmnb=" +
                std::to_string(bytes) + ")");
    }
    throw system_error_from(set, context);
}

SysvQueue SysvQueue::create() {
    const auto id =
        COURIER_SYSCALL(::msgget, IPC_PRIVATE, IPC_CREAT | static_cast<int>(sysv_queue_mode))
            .value_or_throw(
                "create a System V message queue (msgmni limit: "
                "/proc/sys/kernel/msgmni)");
    return SysvQueue(static_cast<int>(id));
}

void SysvQueue::stamp_sender() {
    long stamp = owner_stamp_type;
    COURIER_SYSCALL(::msgsnd, id_, &stamp, std::size_t{0}, IPC_NOWAIT)
        .value_or_throw("stamp System V queue " + std::to_string(id_) + " with its sender");
}

void SysvQueue::stamp_receiver() {
    long stamp = 0;
    auto taken =
        COURIER_SYSCALL(::msgrcv, id_, &stamp, std::size_t{0}, owner_stamp_type, IPC_NOWAIT);
    if (!taken.ok() && taken.error == ENOMSG) {
        stamp_sender();
        taken =
            COURIER_SYSCALL(::msgrcv, id_, &stamp, std::size_t{0}, owner_stamp_type, IPC_NOWAIT);
    }
    taken.value_or_throw("stamp System V queue " + std::to_string(id_) + " with its receiver");
}

void SysvQueue::remove() noexcept {
    if (!std::exchange(owned_, false)) return;
    (void)COURIER_SYSCALL(::msgctl, id_, IPC_RMID, static_cast<msqid_ds*>(nullptr));
}

}  // namespace courier::detail
