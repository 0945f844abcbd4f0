#pragma once
/// @file
/// Spare memory blocks of one size, for objects made on one thread and freed on another
/// at a steady rate (letter bodies: made by the sender or the thread receiving from a
/// link, freed by the worker that handled the letter).

#include <courier/spare_stock.hpp>

#include <cstddef>
#include <memory>
#include <new>

namespace courier::detail {

/// A bounded stock of blocks of `block_size` bytes, shared by any threads (lock-free).
/// take() returns a spare block or a new one from the global operator new; give() keeps
/// a block for the next take() while fewer than `limit` are spare in the shared stock,
/// else frees it. Each thread may keep `per_thread` blocks of its own besides.
class BlockPool {
  public:
    BlockPool(std::size_t block_size, std::size_t limit, std::size_t per_thread = 0);

    void* take();
    void give(void* block) noexcept;

    /// Blocks spare in the shared stock now (exact while no other thread takes or gives).
    std::size_t spares() const noexcept { return spares_.shared_weight(); }

  private:
    struct Free {
        void operator()(void* block) const noexcept { ::operator delete(block); }
    };
    using Block = std::unique_ptr<void, Free>;
    struct One {
        std::size_t operator()(const Block&) const noexcept { return 1; }
    };
    SpareStock<Block, One> spares_;
    std::size_t block_size_;
};

/// An allocator whose single objects go round through a pool of their own, one per type:
/// for what is made once per message behind an API that allocates (the control block
/// of a shared_ptr, with std::allocate_shared). The pool keeps up to 4096 spares, and
/// 64 per thread.
template <class T>
struct PooledAllocator {
    using value_type = T;

    PooledAllocator() noexcept = default;
    template <class U>
    PooledAllocator(const PooledAllocator<U>& /*other*/) noexcept {}  // NOLINT: rebinding

    T* allocate(std::size_t n) {
        if (n != 1) return static_cast<T*>(::operator new(n * sizeof(T)));
        return static_cast<T*>(pool().take());
    }
    void deallocate(T* object, std::size_t n) noexcept {
        if (n != 1) return ::operator delete(object);
        pool().give(object);
    }

    template <class U>
    bool operator==(const PooledAllocator<U>& /*other*/) const noexcept {
        return true;  // every one draws on the same pool
    }

  private:
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    static BlockPool& pool() {
        // Never destroyed: what it allocated may be freed while static objects go.
        static auto* made = new BlockPool(sizeof(T), 4096, 64);
        return *made;
    }
};

}  // namespace courier::detail
