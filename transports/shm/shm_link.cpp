#include "shm/shm_link.hpp"

#include "shm/shm_transport.hpp"

#include <courier/posix_call.hpp>
#include <courier/spin_lock.hpp>
#include <courier/transports/buffer_pool.hpp>

#include <poll.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdint>

namespace courier::detail {

namespace {

void signal_event(int fd) noexcept {
    const std::uint64_t one = 1;
    (void)COURIER_SYSCALL(::write, fd, &one, sizeof(one));
}

void clear_event(int fd) noexcept {
    std::uint64_t count = 0;
    (void)COURIER_SYSCALL(::read, fd, &count, sizeof(count));
}

ShmRing ring_of(boost::interprocess::mapped_region& region, int index) {
    auto* header = static_cast<ShmSegmentHeader*>(region.get_address());
    const auto capacity = static_cast<std::size_t>(header->ring_capacity);
    auto* data = static_cast<std::byte*>(region.get_address()) + sizeof(ShmSegmentHeader) +
                 static_cast<std::size_t>(index) * capacity;
    return ShmRing(header->rings[index], data, capacity);
}

/// How long a sleeping writer waits before it looks again; a safety net only.
constexpr int sleep_poll_ms = 100;

}  // namespace

ShmLink::ShmLink(ControlChannel control, boost::interprocess::mapped_region region, int side,
                 ShmEvents events, const TransportOptions& options, CreatedName owned_name,
                 std::string description)
    : capabilities_(ShmTransport::capabilities()),
      max_frame_size_(std::min(options.max_frame_size, shm_frame_limit)),
      spin_(options.duration(ShmTransport::spin)),
      description_(std::move(description)),
      control_(std::move(control)),
      region_(std::move(region)),
      out_(ring_of(region_, side)),
      in_(ring_of(region_, 1 - side)),
      events_(std::move(events)),
      out_data_(events_[static_cast<std::size_t>(2 * side)].get()),
      out_room_(events_[static_cast<std::size_t>(2 * side + 1)].get()),
      in_data_(events_[static_cast<std::size_t>(2 * (1 - side))].get()),
      in_room_(events_[static_cast<std::size_t>(2 * (1 - side) + 1)].get()),
      owned_name_(std::move(owned_name)) {
    poll_set_.add(in_data_);
    poll_set_.add(control_.poll_fd());
}

ShmLink::~ShmLink() {
    // A writer of ours that the peer may be waiting for will never come: tell it.
    in_.state().reader_closed.store(1, std::memory_order_release);
    signal_event(in_room_);
    owned_name_.remove();
}

ReceiveStatus ShmLink::check_control() {
    std::lock_guard lock(control_mutex_);
    return control_.check();
}

void ShmLink::fail_send(const std::string& why) {
    send_broken_ = description_ + ": " + why;
    throw LinkError(send_broken_);
}

void ShmLink::send(std::span<const std::byte> bytes, std::span<const int> fds,
                   std::uint8_t priority, bool more) {
    send_parts(std::span<const std::span<const std::byte>>(&bytes, 1), fds, priority, more);
}

void ShmLink::send_parts(std::span<const std::span<const std::byte>> parts,
                         std::span<const int> fds, std::uint8_t, bool more) {
    if (!fds.empty())
        throw LinkError(description_ + ": this transport cannot carry file descriptors");
    std::size_t size = 0;
    for (const auto part : parts) size += part.size();
    if (size > max_frame_size_) {
        throw LinkError(description_ + ": a frame of " + std::to_string(size) +
                        " bytes exceeds the limit of " + std::to_string(max_frame_size_) +
                        " bytes (max_frame_size; ring of " + std::to_string(out_.capacity()) +
                        " bytes)");
    }
    std::lock_guard lock(send_mutex_);
    if (!send_broken_.empty()) throw LinkError(send_broken_);
    if (out_.state().reader_closed.load(std::memory_order_acquire) != 0) {
        fail_send("the peer closed the link");
    }
    const auto needed = shm_record_size(size);
    if (out_.free_space() < needed) wait_for_room(needed);
    out_.write(parts, size);
    unsignalled_ = true;
    if (!more) wake_reader();
}

void ShmLink::flush() {
    std::lock_guard lock(send_mutex_);
    // Published records are in the ring whatever happened since: always worth a wake-up.
    if (unsignalled_) wake_reader();
}

void ShmLink::wake_reader() {
    unsignalled_ = false;
    // head was stored seq_cst (by the last write, or any before it): either the reader,
    // going to sleep, sees our records, or we see it asleep and wake it.
    auto& sleeping = out_.state().reader_sleeping;
    if (sleeping.load(std::memory_order_seq_cst) != 0 && sleeping.exchange(0) != 0) {
        signal_event(out_data_);
    }
}

void ShmLink::wait_for_room(std::uint64_t needed) {
    // The reader may sleep on records we published with `more`: it must see them to free room.
    if (unsignalled_) wake_reader();
    const auto spin_until = std::chrono::steady_clock::now() + spin_;
    while (std::chrono::steady_clock::now() < spin_until) {
        if (out_.free_space() >= needed) return;
        cpu_relax();
    }
    auto& sleeping = out_.state().writer_sleeping;
    for (;;) {
        sleeping.store(1, std::memory_order_seq_cst);  // then load tail (seq_cst)
        if (out_.free_space() >= needed) {
            sleeping.store(0, std::memory_order_relaxed);
            return;
        }
        if (out_.state().reader_closed.load(std::memory_order_acquire) != 0) {
            fail_send("the peer closed the link while the ring was full");
        }
        std::array<pollfd, 2> waits{pollfd{out_room_, POLLIN, 0},
                                    pollfd{control_.poll_fd(), POLLIN, 0}};
        (void)COURIER_SYSCALL(::poll, waits.data(), nfds_t{2}, sleep_poll_ms);
        if ((waits[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
            check_control().state != ReceiveStatus::State::open) {
            sleeping.store(0, std::memory_order_relaxed);
            fail_send("the peer went away while the ring (" + std::to_string(out_.capacity()) +
                      " bytes) was full");
        }
        if ((waits[0].revents & POLLIN) != 0) clear_event(out_room_);
    }
}

bool ShmLink::drain(std::vector<Frame>& out) {
    // At most one ring's worth per call, so a fast writer cannot keep the reactor here.
    std::uint64_t taken = 0;
    const auto tail = in_.state().tail.load(std::memory_order_relaxed);  // ours
    while (taken < in_.capacity() && in_.readable()) {
        const auto length = in_.next_length();
        Frame frame;
        if (lending_ && length > lend_above && in_.contiguous(length)) {
            if (!in_.lend(frame.view, max_frame_size_)) return false;
        } else {
            frame.bytes = BufferPool::frames().take(length);  // the letter gives it back
            if (!in_.read(frame.bytes, max_frame_size_)) return false;
        }
        taken += shm_record_size(length);
        out.push_back(std::move(frame));
    }
    if (in_.state().tail.load(std::memory_order_relaxed) != tail) room_freed();
    return true;
}

void ShmLink::give_back(std::span<const std::byte> lent) noexcept {
    in_.release(lent);
    room_freed();
}

void ShmLink::room_freed() noexcept {
    // tail was stored seq_cst: a writer going to sleep sees the room, or we see it.
    auto& sleeping = in_.state().writer_sleeping;
    if (sleeping.load(std::memory_order_seq_cst) != 0 && sleeping.exchange(0) != 0) {
        signal_event(in_room_);
    }
}

ReceiveStatus ShmLink::end(ReceiveStatus status) {
    ended_ = std::move(status);
    owned_name_.remove();
    return *ended_;
}

ReceiveStatus ShmLink::receive(std::vector<Frame>& out) {
    if (ended_) return *ended_;
    if (in_.lent() != 0) {  // the caller failed before it gave them back
        in_.release_all();
        room_freed();
    }
    // Clear, then drain: a signal cleared here was for a record the drain takes. A poller
    // that saw records skips the system call; a stale signal is cleared by the reactor's
    // call, which finds the ring empty.
    if (!polled_.load(std::memory_order_relaxed) || !in_.readable()) clear_event(in_data_);
    const auto before = out.size();
    if (!drain(out)) {
        return end({ReceiveStatus::State::failed,
                    "malformed record in the shared-memory ring (a length above " +
                        std::to_string(max_frame_size_) + " bytes or beyond the published data)"});
    }
    if (out.size() == before) {
        // Nothing new: maybe the peer is gone. It wrote everything before its control
        // socket closed, so one more drain after the check misses nothing.
        if (auto status = check_control(); status.state != ReceiveStatus::State::open) {
            if (!drain(out)) {
                return end(
                    {ReceiveStatus::State::failed, "malformed record in the shared-memory ring"});
            }
            return end(std::move(status));
        }
    }
    // A poller will look again by itself; otherwise the next record must signal.
    if (!polled_.load(std::memory_order_relaxed)) arm_signal(true);
    return {};
}

void ShmLink::arm_signal(bool reader) noexcept {
    auto& sleeping = in_.state().reader_sleeping;
    sleeping.store(1, std::memory_order_seq_cst);  // then load head (seq_cst)
    if (reader ? in_.readable() : in_.pending()) {
        // More arrived (or we stopped early): stay awake and have the reactor call again.
        sleeping.store(0, std::memory_order_relaxed);
        signal_event(in_data_);
    }
}

void ShmLink::set_polled(bool polled) noexcept {
    polled_.store(polled, std::memory_order_relaxed);
    // Polled: writers need not signal. (A receive() racing with this may set the flag
    // again: that costs a needless signal, never a lost one.)
    if (polled)
        in_.state().reader_sleeping.store(0, std::memory_order_relaxed);
    else
        arm_signal(false);  // perhaps while another thread is in receive()
}

}  // namespace courier::detail
