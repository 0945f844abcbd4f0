#include "sysv/sysv_link.hpp"

#include "sysv/sysv_queue.hpp"
#include "sysv/sysv_transport.hpp"

#include <courier/posix_call.hpp>
#include <courier/transports/buffer_pool.hpp>

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <utility>

namespace courier::detail {

namespace {

/// Message types: data frames use 1 + (255 - priority), so msgrcv with a negative
/// msgtyp takes the most urgent first (the lowest type, FIFO within one type); the end
/// marker sorts after every data frame.
constexpr long data_type(std::uint8_t priority) {
    return 1 + (255 - static_cast<long>(priority));
}
constexpr std::uint8_t priority_of(long type) {
    return static_cast<std::uint8_t>(256 - type);
}
constexpr long end_marker_type = 257;
/// How long a sender finding the queue full yields and tries again before it sleeps.
constexpr std::chrono::microseconds sender_spin(50);
/// Frames the waiter may hold for receive() before it stops taking from the queue.
constexpr std::size_t pending_capacity = 64;

std::size_t longs_for(std::size_t bytes) {
    return 1 + (bytes + sizeof(long) - 1) / sizeof(long);
}

/// What this link's queues move in one message: msgmax, and no more than either queue
/// holds (max_bytes may have made them smaller than msgmnb).
Capabilities link_capabilities(int in_queue, int out_queue) {
    Capabilities capabilities = SysvTransport::capabilities();
    capabilities.native_frame_limit =
        std::min({sysv_limits().msgmax, sysv_queue_bytes(in_queue), sysv_queue_bytes(out_queue)});
    return capabilities;
}

}  // namespace

SysvLink::SysvLink(ControlChannel control, SysvQueue in_queue, SysvQueue out_queue,
                   const TransportOptions& options, std::string description)
    : capabilities_(link_capabilities(in_queue.id(), out_queue.id())),
      max_frame_size_(std::min(options.max_frame_size, capabilities_.native_frame_limit)),
      description_(std::move(description)),
      control_(std::move(control)),
      in_queue_(std::move(in_queue)),
      out_queue_(std::move(out_queue)),
      // A semaphore: each write is taken back by one read (see receive()).
      event_(static_cast<int>(
          COURIER_SYSCALL(::eventfd, 0U, EFD_NONBLOCK | EFD_CLOEXEC | EFD_SEMAPHORE)
              .value_or_throw("sysv link eventfd"))) {
    poll_set_.add(event_.get());
    poll_set_.add(control_.poll_fd());
    waiter_ = std::thread([this] { wait_loop(); });
    // Named, for `top -H` and ps: a sysv link costs a thread.
    ::pthread_setname_np(waiter_.native_handle(), waiter_thread_name);
}

SysvLink::~SysvLink() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    room_.notify_all();
    // Removing our incoming queue wakes the waiter (EIDRM) and tells a sending peer.
    in_queue_.remove();
    waiter_.join();
    // A peer that is already gone cannot remove its incoming queue: we do. A live one
    // removes it when it closes.
    if (ended_ || peer_end_ || check_control().state != ReceiveStatus::State::open) {
        out_queue_.remove();
    } else {
        (void)out_queue_.release();
    }
}

void SysvLink::wait_loop() {
    std::vector<long> buffer(longs_for(max_frame_size_));
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            room_.wait(lock, [&] { return stop_ || pending_.size() < pending_capacity; });
            if (stop_) return;
        }
        const auto got = COURIER_SYSCALL(::msgrcv, in_queue_.id(), buffer.data(), max_frame_size_,
                                         -end_marker_type, 0);
        std::unique_lock lock(mutex_);
        if (!got.ok()) {
            if (stop_) return;
            if (got.error == E2BIG) {
                waiter_failed_ = "received a frame above the limit of " +
                                 std::to_string(max_frame_size_) + " bytes (" +
                                 sysv_limits().describe() + ")";
            } else if (got.error == EIDRM || got.error == EINVAL) {
                waiter_failed_ = "the incoming message queue was removed";
            } else {
                waiter_failed_ = system_error_from(got, "sysv receive").what();
            }
        } else if (buffer[0] == end_marker_type) {
            drained_ = true;
        } else if (buffer[0] < data_type(255) || buffer[0] > data_type(0)) {
            waiter_failed_ = "received a message of type " + std::to_string(buffer[0]) +
                             ", which is not a courier lane (1-256)";
        } else {
            Frame frame;
            const auto* bytes = reinterpret_cast<const std::byte*>(buffer.data() + 1);
            frame.bytes = BufferPool::frames().take(static_cast<std::size_t>(got.value));
            frame.bytes.assign(bytes, bytes + got.value);
            frame.priority = priority_of(buffer[0]);
            // Frames taken ahead but not yet handed over are ordered too: a frame goes
            // after every pending one of its priority or higher.
            auto at = std::find_if(pending_.rbegin(), pending_.rend(), [&](const Frame& f) {
                          return f.priority >= frame.priority;
                      }).base();
            pending_.insert(at, std::move(frame));
        }
        const bool done = waiter_failed_.has_value() || drained_;
        // A polling thread sees the news in memory: the eventfd, and the reactor it wakes,
        // would cost a second thread wake-up. The end is signalled anyway: it is rare,
        // and the reactor then handles it whoever polls.
        const bool signal = (done || !polled_.load(std::memory_order_relaxed)) && to_signal();
        news_.store(true, std::memory_order_release);
        lock.unlock();
        if (signal) write_signal();
        if (done) return;
    }
}

bool SysvLink::to_signal() noexcept {
    return !std::exchange(signalled_, true);  // one write until receive() takes them
}

void SysvLink::write_signal() noexcept {
    // Outside mutex_: the reactor it wakes may take this CPU at once, and would only
    // find the lock held.
    const std::uint64_t one = 1;
    (void)COURIER_SYSCALL(::write, event_.get(), &one, sizeof(one));
}

void SysvLink::set_polled(bool polled) noexcept {
    polled_.store(polled, std::memory_order_relaxed);
    if (polled) return;
    // Frames the waiter handed over unsignalled while we polled: the reactor must hear of
    // them now. The waiter decides under the same lock, so it either sees polled_ false
    // and signals, or has left news_ for us to see here.
    std::unique_lock lock(mutex_);
    const bool signal = news_.load(std::memory_order_relaxed) && to_signal();
    lock.unlock();
    if (signal) write_signal();
}

ReceiveStatus SysvLink::check_control() {
    std::lock_guard lock(control_mutex_);
    return control_.check();
}

void SysvLink::fail_send(const std::string& why) {
    send_broken_ = description_ + ": " + why;
    throw LinkError(send_broken_);
}

void SysvLink::send(std::span<const std::byte> bytes, std::span<const int> fds,
                    std::uint8_t priority, bool more) {
    send_parts(std::span<const std::span<const std::byte>>(&bytes, 1), fds, priority, more);
}

void SysvLink::send_parts(std::span<const std::span<const std::byte>> parts,
                          std::span<const int> fds, std::uint8_t priority,
                          bool /*more: one message per msgsnd anyway*/) {
    if (!fds.empty())
        throw LinkError(description_ + ": this transport cannot carry file descriptors");
    std::size_t size = 0;
    for (const auto part : parts) size += part.size();
    if (size > max_frame_size_) {
        throw LinkError(description_ + ": a frame of " + std::to_string(size) +
                        " bytes exceeds the limit of " + std::to_string(max_frame_size_) +
                        " bytes (max_frame_size; " + sysv_limits().describe() + ")");
    }
    std::lock_guard lock(send_mutex_);
    if (!send_broken_.empty()) throw LinkError(send_broken_);
    // msgsnd takes the type and the text in one buffer: the parts are copied once, here.
    send_buffer_.resize(longs_for(size));
    send_buffer_[0] = data_type(priority);
    auto* text = reinterpret_cast<std::byte*>(send_buffer_.data() + 1);
    for (const auto part : parts) {
        if (!part.empty()) std::memcpy(text, part.data(), part.size());
        text += part.size();
    }

    // A full queue: msgsnd would block without noticing a dead peer, so try without
    // waiting. The reader usually makes room within microseconds, long before a sleep
    // ends (the timer slack alone adds 50 us to one), so first yield the CPU and try again
    // for up to sender_spin; then watch the control channel between tries (10 us,
    // doubling to 5 ms).
    std::optional<std::chrono::steady_clock::time_point> spin_until;
    std::chrono::microseconds backoff(10);
    for (;;) {
        const auto sent =
            COURIER_SYSCALL(::msgsnd, out_queue_.id(), send_buffer_.data(), size, IPC_NOWAIT);
        if (sent.ok()) return;
        if (sent.error == EIDRM || sent.error == EINVAL) {
            fail_send("the peer closed the link (its message queue is gone)");
        }
        if (sent.error != EAGAIN) {
            fail_send(std::string(system_error_from(sent, "sysv send").what()) + " (" +
                      sysv_limits().describe() + ")");
        }
        const auto now = std::chrono::steady_clock::now();
        if (!spin_until) spin_until = now + sender_spin;
        if (now < *spin_until) {
            ::sched_yield();
            continue;
        }
        pollfd control{control_.poll_fd(), POLLIN, 0};
        const timespec wait{0, static_cast<long>(backoff.count()) * 1000};
        const auto ready = COURIER_SYSCALL(::ppoll, &control, nfds_t{1}, &wait, nullptr);
        if (ready.ok() && ready.value > 0 && check_control().state != ReceiveStatus::State::open) {
            fail_send("the peer went away while the message queue was full (" +
                      sysv_limits().describe() + ")");
        }
        backoff = std::min(backoff * 2, std::chrono::microseconds(5000));
    }
}

ReceiveStatus SysvLink::end(ReceiveStatus status) {
    ended_ = status;
    // The peer is gone (or the link broke): whoever survives removes both queues.
    in_queue_.remove();
    out_queue_.remove();
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
        news_.store(false, std::memory_order_relaxed);  // a poller has nothing left to take
    }
    room_.notify_all();
    return *ended_;
}

ReceiveStatus SysvLink::receive(std::vector<Frame>& out) {
    if (ended_) return *ended_;
    std::optional<std::string> failed;
    bool drained = false;
    bool taken = false;
    {
        std::lock_guard lock(mutex_);
        taken = !pending_.empty();
        for (auto& frame : pending_) out.push_back(std::move(frame));
        pending_.clear();
        news_.store(false, std::memory_order_relaxed);
        // One read per signal given, so a poller taking unsignalled frames makes no system
        // call. A signal's write may still be on its way (it is made after the lock): its
        // read is then owed, and paid when the count shows up and wakes the reactor.
        unread_ += std::exchange(signalled_, false) ? 1U : 0U;
        while (unread_ != 0) {
            std::uint64_t count = 0;
            if (!COURIER_SYSCALL(::read, event_.get(), &count, sizeof(count)).ok()) break;
            --unread_;
        }
        failed = waiter_failed_;
        drained = drained_;
    }
    room_.notify_all();
    if (failed) return end({ReceiveStatus::State::failed, *failed});
    if (drained) return end(*peer_end_);
    // While frames come the peer lives: the control connection is asked when none did,
    // which saves a system call per receive under load.
    if (taken) return {};

    if (!peer_end_) {
        if (auto status = check_control(); status.state != ReceiveStatus::State::open) {
            peer_end_ = status;
        }
    }
    if (peer_end_ && !marker_sent_) {
        // Frames the peer sent before it went may still be queued: the marker sorts after
        // them, so the waiter meeting it means all of them were handed over.
        long marker = end_marker_type;
        const auto sent =
            COURIER_SYSCALL(::msgsnd, in_queue_.id(), &marker, std::size_t{0}, IPC_NOWAIT);
        if (sent.ok()) {
            marker_sent_ = true;
        } else if (sent.error != EAGAIN) {  // EAGAIN: full; the control fd calls us again
            return end(
                {ReceiveStatus::State::failed, system_error_from(sent, "sysv end marker").what()});
        }
    }
    return {};
}

}  // namespace courier::detail
