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
    : control_(&control), data_(data), capacity_(capacity), spin_(spin) {}

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
        sleeping.store(1, std::memory_order_seq_cst);  // then load the position (seq_cst)
        if (ready()) {
            sleeping.store(0, std::memory_order_relaxed);
            return;
        }
        futex_wait(sleeping, 1);
    }
}

void SpscRing::wake(std::atomic<std::uint32_t>& sleeping) noexcept {
    if (sleeping.load(std::memory_order_seq_cst) != 0 && sleeping.exchange(0) != 0)
        futex_wake(sleeping);
}

void SpscRing::write(std::span<const std::uint8_t> bytes) noexcept {
    auto& head = control_->head;
    auto& tail = control_->tail;
    while (!bytes.empty()) {
        const auto position = head.load(std::memory_order_relaxed);  // ours
        auto room = [&] { return capacity_ - (position - tail.load(std::memory_order_seq_cst)); };
        // A full ring: wait for room for the whole message (at most half the ring), not
        // for any byte, so the two sides do not wake each other once per read.
        const std::size_t wanted = std::min(bytes.size(), capacity_ / 2);
        if (room() < wanted) wait(control_->writer_sleeping, [&] { return room() >= wanted; });
        const std::size_t n = std::min<std::size_t>(bytes.size(), room());
        const std::size_t offset = position & (capacity_ - 1);
        const std::size_t first = std::min(n, capacity_ - offset);
        std::memcpy(data_ + offset, bytes.data(), first);
        std::memcpy(data_, bytes.data() + first, n - first);
        head.store(position + n, std::memory_order_seq_cst);
        wake(control_->reader_sleeping);
        bytes = bytes.subspan(n);
    }
}

void SpscRing::read(std::span<std::uint8_t> out) noexcept {
    auto& head = control_->head;
    auto& tail = control_->tail;
    while (!out.empty()) {
        const auto position = tail.load(std::memory_order_relaxed);  // ours
        auto ready = [&] { return head.load(std::memory_order_seq_cst) - position; };
        if (ready() == 0) wait(control_->reader_sleeping, [&] { return ready() != 0; });
        const std::size_t n = std::min<std::size_t>(out.size(), ready());
        const std::size_t offset = position & (capacity_ - 1);
        const std::size_t first = std::min(n, capacity_ - offset);
        std::memcpy(out.data(), data_ + offset, first);
        std::memcpy(out.data() + first, data_, n - first);
        tail.store(position + n, std::memory_order_seq_cst);
        wake(control_->writer_sleeping);
        out = out.subspan(n);
    }
}

}  // namespace courier::bench
