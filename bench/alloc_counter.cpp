#include "alloc_counter.hpp"

#include <execinfo.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace courier::bench::alloc_counter {
namespace {

constexpr int max_slots = 256;
struct alignas(64) Slot {
    std::atomic<std::uint64_t> count{0};
};
Slot slots[max_slots];
std::atomic<int> slots_taken{0};
std::atomic<bool> enabled{false};
thread_local Slot* own_slot = nullptr;
thread_local int paused = 0;
std::atomic<bool> tracing{false};
std::atomic<int> traces_left{0};

/// Writes this allocation's call stack to stderr, while traces are left.
void trace_one(std::size_t size) noexcept {
    if (traces_left.fetch_sub(1, std::memory_order_relaxed) <= 0) return;
    ++paused;  // backtrace() may allocate (its first call loads libgcc)
    void* frames[24];
    const int depth = ::backtrace(frames, 24);
    char line[64];
    const int n = std::snprintf(line, sizeof line, "allocation of %zu bytes:\n", size);
    (void)!::write(2, line, static_cast<std::size_t>(n));
    ::backtrace_symbols_fd(frames, depth, 2);
    --paused;
}

void count_one() noexcept {
    if (!enabled.load(std::memory_order_relaxed) || paused != 0) return;
    if (own_slot == nullptr)
        own_slot =
            &slots[std::min(slots_taken.fetch_add(1, std::memory_order_relaxed), max_slots - 1)];
    if (own_slot == &slots[max_slots - 1]) {
        // The last slot is shared by every thread beyond the others.
        own_slot->count.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    // The only writer of its slot: no locked instruction needed.
    own_slot->count.store(own_slot->count.load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
}

void* allocate(std::size_t size) {
    count_one();
    if (tracing.load(std::memory_order_relaxed) && paused == 0) trace_one(size);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}

void* allocate_aligned(std::size_t size, std::align_val_t alignment) {
    count_one();
    if (tracing.load(std::memory_order_relaxed) && paused == 0) trace_one(size);
    void* p = nullptr;
    auto align = static_cast<std::size_t>(alignment);
    if (align < sizeof(void*)) align = sizeof(void*);
    if (::posix_memalign(&p, align, size == 0 ? 1 : size) == 0) return p;
    throw std::bad_alloc();
}

}  // namespace

void enable() noexcept {
    enabled.store(true, std::memory_order_relaxed);
}

void trace(bool on) noexcept {
    static const int wanted = [] {
        const char* n = std::getenv("COURIER_BENCH_ALLOC_TRACE");
        return n ? std::atoi(n) : 0;
    }();
    if (wanted <= 0 || !enabled.load(std::memory_order_relaxed)) return;
    if (on) traces_left.store(wanted, std::memory_order_relaxed);
    tracing.store(on, std::memory_order_relaxed);
}

std::uint64_t total() noexcept {
    std::uint64_t sum = 0;
    for (const auto& slot : slots) sum += slot.count.load(std::memory_order_relaxed);
    return sum;
}

Pause::Pause() noexcept {
    ++paused;
}
Pause::~Pause() {
    --paused;
}

}  // namespace courier::bench::alloc_counter

// The replaceable global allocation functions ([new.delete]); the deletes pair with them.
using courier::bench::alloc_counter::allocate;
using courier::bench::alloc_counter::allocate_aligned;

void* operator new(std::size_t size) {
    return allocate(size);
}
void* operator new[](std::size_t size) {
    return allocate(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return allocate(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return allocate(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new(std::size_t size, std::align_val_t alignment) {
    return allocate_aligned(size, alignment);
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
    return allocate_aligned(size, alignment);
}
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    try {
        return allocate_aligned(size, alignment);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    try {
        return allocate_aligned(size, alignment);
    } catch (...) {
        return nullptr;
    }
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    std::free(p);
}
