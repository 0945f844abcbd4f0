#include "posixmq/posixmq_link.hpp"

#include "posixmq/posixmq_transport.hpp"

#include <courier/posix_call.hpp>
#include <courier/transports/buffer_pool.hpp>

#include <mqueue.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <utility>

namespace courier::detail {

namespace {

/// Messages taken in one receive(); the rest wait for the next (poll is level-triggered),
/// so a fast sender cannot keep the reactor in one call.
constexpr std::size_t max_batch = 4096;
/// The most a link keeps in receive slots (at least one slot), and so lends to the frames
/// of one receive().
constexpr std::size_t slot_budget = std::size_t{256} << 10;
/// How long one send waits in the kernel for room before it looks whether the peer lives.
constexpr long send_wait_ns = 10'000'000;

ReceiveStatus failed(std::string reason) {
    return ReceiveStatus{ReceiveStatus::State::failed, std::move(reason)};
}

std::size_t queue_msgsize(int mqd, const std::string& context) {
    mq_attr attr{};
    COURIER_SYSCALL(::mq_getattr, mqd, &attr).value_or_throw(context);
    return static_cast<std::size_t>(attr.mq_msgsize);
}

}  // namespace

PosixMqLink::PosixMqLink(Fd in, Fd out, ControlChannel control, const TransportOptions& options,
                         std::string peer)
    : in_(std::move(in)),
      out_(std::move(out)),
      control_(std::move(control)),
      capabilities_(PosixMqTransport::capabilities()),
      msgsize_(queue_msgsize(in_.get(), peer + ": the receiving queue")),
      max_frame_size_(options.max_frame_size),
      peer_(std::move(peer)),
      max_slots_(std::max<std::size_t>(1, slot_budget / msgsize_)) {
    const std::size_t out_msgsize = queue_msgsize(out_.get(), peer_ + ": the sending queue");
    if (out_msgsize != msgsize_) {
        throw LinkError(peer_ + ": the queues differ in mq_msgsize (" + std::to_string(msgsize_) +
                        " and " + std::to_string(out_msgsize) + ")");
    }
    // What the queues really hold, should the system limits have changed since
    // capabilities() was first read.
    capabilities_.native_frame_limit = msgsize_;
    // The sending descriptor blocks (sends wait with a timeout): a sender asleep in
    // mq_timedsend gets room the moment the reader takes a message, whose mq_receive puts
    // the waiting message in the queue and wakes it, so the queue stays full meanwhile (as
    // the raw benchmark's blocking mq_send). A sender polling for POLLOUT had to wake and
    // send again first, and the reader could empty the queue and sleep in the meantime.
    // The descriptor is this link's alone.
    const mq_attr blocking{};  // mq_setattr changes mq_flags (O_NONBLOCK) only
    COURIER_SYSCALL(::mq_setattr, out_.get(), &blocking, nullptr)
        .value_or_throw(peer_ + ": the sending queue");
    poll_.add(in_.get());
    poll_.add(control_.poll_fd());
}

void PosixMqLink::send(std::span<const std::byte> bytes, std::span<const int> fds,
                       std::uint8_t priority, bool /*more: one message per mq_send anyway*/) {
    if (!fds.empty()) throw LinkError(peer_ + ": this transport cannot carry file descriptors");
    if (bytes.size() > max_frame_size_) {
        throw LinkError(peer_ + ": frame of " + std::to_string(bytes.size()) +
                        " bytes exceeds the limit of " + std::to_string(max_frame_size_) +
                        " bytes (TransportOptions::max_frame_size)");
    }
    if (bytes.size() > msgsize_) {
        throw LinkError(peer_ + ": frame of " + std::to_string(bytes.size()) +
                        " bytes exceeds the queue's message size limit of " +
                        std::to_string(msgsize_) + " bytes (mq_msgsize)");
    }
    static constexpr char nothing = 0;  // mq_send wants a buffer even for 0 bytes
    const char* data = bytes.empty() ? &nothing : reinterpret_cast<const char*>(bytes.data());

    std::lock_guard lock(send_mutex_);
    if (!send_broken_.empty()) throw LinkError(peer_ + ": link is broken: " + send_broken_);
    if (peer_gone_.load(std::memory_order_acquire)) {
        throw LinkError(peer_ + ": the peer closed the link");
    }
    for (;;) {
        // The queue's own priorities: mq_receive takes the highest first, FIFO within one.
        // A full queue holds the call for up to send_wait_ns (a CLOCK_REALTIME deadline, as
        // mq_timedsend wants: a clock set back meanwhile only delays noticing a dead peer).
        timespec deadline{};
        ::clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += send_wait_ns;
        if (deadline.tv_nsec >= 1'000'000'000) {
            deadline.tv_nsec -= 1'000'000'000;
            ++deadline.tv_sec;
        }
        const auto result = COURIER_SYSCALL(::mq_timedsend, out_.get(), data, bytes.size(),
                                            static_cast<unsigned>(priority), &deadline);
        if (result.ok()) return;
        if (result.error != ETIMEDOUT) {
            send_broken_ = system_error_from(result, peer_).what();
            throw LinkError(send_broken_);
        }
        check_peer_while_full();
    }
}

void PosixMqLink::check_peer_while_full() {
    // A queue has no reader count: only the control connection says the peer is gone.
    if (peer_gone_.load(std::memory_order_acquire)) {
        send_broken_ = "the link ended (the peer is gone) while the queue was full";
        throw LinkError(peer_ + ": " + send_broken_);
    }
    pollfd control{control_.poll_fd(), POLLIN, 0};
    const auto result = COURIER_SYSCALL(::poll, &control, nfds_t{1}, 0);
    if (!result.ok()) throw LinkError(system_error_from(result, peer_).what());
    if (control.revents != 0) {
        send_broken_ = "the peer is gone (its control connection closed) while the queue was full";
        throw LinkError(peer_ + ": " + send_broken_);
    }
}

ReceiveStatus PosixMqLink::receive(std::vector<Frame>& out) {
    if (ended_) return *ended_;
    std::size_t taken = 0;
    bool drained = false;
    if (auto failure = take_messages(out, taken, drained)) {
        return finish(failed(std::move(*failure)));
    }
    // While messages come the peer lives: the control connection is asked only when the
    // queue is empty, which saves a system call per receive under load.
    if (taken > 0) return ReceiveStatus{};
    if (!peer_end_) {
        ReceiveStatus control = control_.check();
        if (control.state == ReceiveStatus::State::open) return ReceiveStatus{};
        peer_end_ = std::move(control);
    }
    // Whatever the peer sent before it went is in the queue by now.
    if (auto failure = take_messages(out, taken, drained)) {
        return finish(failed(std::move(*failure)));
    }
    if (!drained) return ReceiveStatus{};  // more may wait: not the end yet
    if (peer_end_->state == ReceiveStatus::State::closed) {
        return finish({ReceiveStatus::State::closed, peer_ + " closed the link"});
    }
    return finish(failed(peer_ + ": " + peer_end_->reason));
}

std::optional<std::string> PosixMqLink::take_messages(std::vector<Frame>& out, std::size_t& taken,
                                                      bool& drained) {
    // The slots no frame holds any more are free again; a slot still held (by a whole
    // frame or a pack that filled it and went on in a letter) is left to its frames,
    // which give its buffer back to the pool when the last of them goes.
    std::erase_if(slots_, [](const Slot& slot) { return slot.shared.use_count() != 1; });
    // The last holder released its reference (acq_rel) after its reads: they are done
    // before a receive overwrites the slot.
    std::atomic_thread_fence(std::memory_order_acquire);
    std::size_t lent = 0;
    drained = false;
    for (taken = 0; taken < max_batch; ++taken) {
        if (lent == slots_.size()) {
            if (lent == max_slots_) return std::nullopt;  // the rest at the next receive
            slots_.push_back(make_slot());
        }
        const Slot& slot = slots_[lent];
        unsigned priority = 0;
        const auto result = COURIER_SYSCALL(
            ::mq_receive, in_.get(), reinterpret_cast<char*>(slot.data), msgsize_, &priority);
        if (!result.ok()) {
            if (result.error != EAGAIN)
                return system_error_from(result, "receive from " + peer_).what();
            drained = true;
            return std::nullopt;
        }
        const auto size = static_cast<std::size_t>(result.value);
        if (size > max_frame_size_) {
            return peer_ + " sent a frame of " + std::to_string(size) +
                   " bytes, above the limit of " + std::to_string(max_frame_size_) +
                   " bytes (TransportOptions::max_frame_size)";
        }
        if (priority > 255) {
            return peer_ + " sent a message of priority " + std::to_string(priority) +
                   ", above courier's 255";
        }
        Frame& frame = out.emplace_back();
        frame.priority = static_cast<std::uint8_t>(priority);
        const std::span<const std::byte> message(slot.data, size);
        if (size == msgsize_) {  // the frame views the slot: no copy
            frame.shared = slot.shared;
            frame.view = message;
            ++lent;
        } else {  // copied into a buffer of its own; the slot takes the next message
            frame.bytes = BufferPool::frames().take(size);  // given back by whoever is done with it
            frame.bytes.assign(message.begin(), message.end());
        }
    }
    return std::nullopt;
}

PosixMqLink::Slot PosixMqLink::make_slot() const {
    auto bytes = BufferPool::frames().take(msgsize_);
    bytes.resize(msgsize_);  // zero-filled once: the slot is reused while no frame keeps it
    std::byte* data = bytes.data();
    return Slot{SharedBytes(std::move(bytes)), data};  // a moved vector keeps its memory
}

ReceiveStatus PosixMqLink::finish(ReceiveStatus status) {
    peer_gone_.store(true, std::memory_order_release);
    ended_ = status;
    return status;
}

std::string describe_posixmq_peer(const Endpoint& endpoint, const ControlChannel& control) {
    // The control link's peer reads "unix:@courier-rendezvous... (pid P, uid U)".
    const std::string control_peer = control.peer();
    const auto details = control_peer.rfind(" (pid ");
    return endpoint.to_string() +
           (details == std::string::npos ? std::string() : control_peer.substr(details));
}

}  // namespace courier::detail
