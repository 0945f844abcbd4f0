#include "spsc_ring.hpp"

#include <courier/transports/transport.hpp>

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <ctime>
#include <string_view>

namespace courier::bench {

namespace {
std::int64_t shm_default(std::string_view setting) {
    return TransportRegistry::builtin().find("shm")->find_setting(setting)->default_value;
}
}  // namespace

std::size_t courier_ring_capacity() {
    return std::bit_ceil(static_cast<std::size_t>(shm_default("ring_size")));
}

std::chrono::microseconds courier_ring_spin() {
    return std::chrono::microseconds(shm_default("spin_us"));
}

namespace {

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/// Sleeps while `*word == expected`, at most 100 ms (a safety net, not a timer).
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept {
    timespec timeout{0, 100'000'000};
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, expected, &timeout,
              nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>& word) noexcept {
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, 1, nullptr, nullptr,
              0);
}

}  // namespace

SpscRing::SpscRing(RingControl& control, std::uint8_t* data, std::size_t capacity,
                   std::chrono::microseconds spin) noexcept
    : control_(&control), data_(data), capacity_(capacity), batch_(batch(capacity)), spin_(spin) {}

template <class Ready>
void SpscRing::wait(std::atomic<std::uint32_t>& sleeping, Ready ready) noexcept {
    // Spin, yielding the CPU every 64 turns: when both sides share one CPU (a loaded
    // machine), a pure spin would hold it for the whole spin time while the peer that
    // should answer waits to run.
    const auto spin_until = std::chrono::steady_clock::now() + spin_;
    for (unsigned i = 1;; ++i) {
        if (ready()) return;
        cpu_relax();
        if ((i & 63) == 0) {
            if (std::chrono::steady_clock::now() >= spin_until) break;
            ::sched_yield();
        }
    }
    for (;;) {
        sleeping.store(1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with publish()'s
        if (ready()) {
            sleeping.store(0, std::memory_order_relaxed);
            return;
        }
        futex_wait(sleeping, 1);
    }
}

void SpscRing::publish(std::atomic<std::uint64_t>& shared, std::uint64_t position,
                       std::atomic<std::uint32_t>& sleeping) noexcept {
    shared.store(position, std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with wait()'s
    if (sleeping.load(std::memory_order_relaxed) != 0 &&
        sleeping.exchange(0, std::memory_order_relaxed) != 0)
        futex_wake(sleeping);
}

void SpscRing::flush() noexcept {
    if (position_ == published_) return;
    published_ = position_;
    publish(control_->head, position_, control_->reader_sleeping);
}

void SpscRing::give_back() noexcept {
    if (position_ == published_) return;
    published_ = position_;
    publish(control_->tail, position_, control_->writer_sleeping);
}

void SpscRing::write(std::span<const std::uint8_t> bytes) noexcept {
    // peer_ is the reader's tail as last read: the room it shows is a lower bound.
    auto room = [&] { return capacity_ - (position_ - peer_); };
    while (!bytes.empty()) {
        // A full ring: wait for room for the whole message (at most half the ring), not
        // for any byte, so the two sides do not wake each other once per read.
        const std::size_t wanted = std::min(bytes.size(), capacity_ / 2);
        if (room() < wanted) {
            peer_ = control_->tail.load(std::memory_order_acquire);
            if (room() < wanted) {
                flush();  // the reader may be waiting for what this side holds
                wait(control_->writer_sleeping, [&] {
                    peer_ = control_->tail.load(std::memory_order_acquire);
                    return room() >= wanted;
                });
            }
        }
        const std::size_t n = std::min<std::size_t>(bytes.size(), room());
        const std::size_t offset = position_ & (capacity_ - 1);
        const std::size_t first = std::min(n, capacity_ - offset);
        std::memcpy(data_ + offset, bytes.data(), first);
        std::memcpy(data_, bytes.data() + first, n - first);
        position_ += n;
        bytes = bytes.subspan(n);
        if (position_ - published_ >= batch_) flush();
    }
}

void SpscRing::read(std::span<std::uint8_t> out) noexcept {
    // peer_ is the writer's head as last read: everything below it is ours to read.
    while (!out.empty()) {
        if (peer_ == position_) {
            peer_ = control_->head.load(std::memory_order_acquire);
            if (peer_ == position_) {
                give_back();  // the writer may be waiting for room
                wait(control_->reader_sleeping, [&] {
                    peer_ = control_->head.load(std::memory_order_acquire);
                    return peer_ != position_;
                });
            }
        }
        const std::size_t n = std::min<std::size_t>(out.size(), peer_ - position_);
        const std::size_t offset = position_ & (capacity_ - 1);
        const std::size_t first = std::min(n, capacity_ - offset);
        std::memcpy(out.data(), data_ + offset, first);
        std::memcpy(out.data() + first, data_, n - first);
        position_ += n;
        out = out.subspan(n);
        if (position_ - published_ >= batch_) give_back();
    }
}

}  // namespace courier::bench
