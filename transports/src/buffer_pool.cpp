#include <courier/transports/buffer_pool.hpp>

#include <bit>

namespace courier {

BufferPool::BufferPool(std::size_t budget, std::size_t largest, std::size_t per_thread,
                       std::size_t small)
    : small_(budget, per_thread), largest_(largest), small_largest_(small) {
    if (small >= largest) return;  // no large buffers
    for (auto bits = std::bit_width(small + 1); bits <= std::bit_width(largest); ++bits)
        large_[bits] = std::make_unique<Stock>(budget / 4);
}

BufferPool& BufferPool::frames() {
    // Never destroyed: letters may give buffers back while static objects are torn down.
    // The budget covers a backlog of ~100 k small frames (what courier-bench builds when
    // a receiving actor falls behind its reactor), and 16 large ones of a MiB: a fresh
    // buffer of a MiB costs hundreds of page faults to fill.
    static auto* pool =
        new BufferPool(std::size_t{16} << 20, std::size_t{4} << 20, 64, std::size_t{64} << 10);
    return *pool;
}

std::vector<std::byte> BufferPool::take(std::size_t size) noexcept {
    std::vector<std::byte> buffer;
    bool taken = false;
    if (size <= small_largest_) {
        taken = small_.take(buffer);
    } else {
        // Buffers of the size's own bit width were most likely made for frames of about
        // its size; one of the next width up always holds it.
        const auto bits = static_cast<std::size_t>(std::bit_width(size));
        for (auto* stock : {large(bits), large(bits + 1)})
            if (!taken && stock) taken = stock->take(buffer);
    }
    if (taken) buffer.clear();
    return buffer;
}

void BufferPool::give(std::vector<std::byte> buffer) noexcept {
    const std::size_t capacity = buffer.capacity();
    if (capacity == 0 || capacity > largest_) return;
    if (capacity <= small_largest_)
        small_.give(std::move(buffer));
    else if (auto* stock = large(static_cast<std::size_t>(std::bit_width(capacity))))
        stock->give(std::move(buffer));
}

std::size_t BufferPool::spare_bytes() const noexcept {
    std::size_t bytes = small_.shared_weight();
    for (const auto& stock : large_)
        if (stock) bytes += stock->shared_weight();
    return bytes;
}

}  // namespace courier
