#include "alloc_counter.hpp"

#include <algorithm>
#include <atomic>
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
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}

void* allocate_aligned(std::size_t size, std::align_val_t alignment) {
    count_one();
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
