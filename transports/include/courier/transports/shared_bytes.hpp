#pragma once
/// @file
/// One received buffer shared by the frames it holds: a packed chunk of the fragmentation
/// layer carries hundreds of small frames, and each frame views its part of the chunk
/// instead of being copied into a buffer of its own.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace courier {

/// A counted reference to a byte buffer. Copies share the buffer; when the last one goes,
/// on whatever thread, the buffer goes back to BufferPool::frames(). The counts and the
/// holders are pooled too: sharing a buffer allocates nothing in steady state.
class SharedBytes {
  public:
    SharedBytes() noexcept = default;
    /// Shares `bytes` from now on (never empty afterwards, even for an empty buffer).
    explicit SharedBytes(std::vector<std::byte> bytes);
    SharedBytes(const SharedBytes& other) noexcept : holder_(other.holder_) {
        if (holder_) holder_->refs.fetch_add(1, std::memory_order_relaxed);
    }
    SharedBytes(SharedBytes&& other) noexcept : holder_(std::exchange(other.holder_, nullptr)) {}
    SharedBytes& operator=(SharedBytes other) noexcept {
        std::swap(holder_, other.holder_);
        return *this;
    }
    ~SharedBytes() { release(); }

    explicit operator bool() const noexcept { return holder_ != nullptr; }
    std::span<const std::byte> bytes() const noexcept {
        return holder_ ? std::span<const std::byte>(holder_->bytes) : std::span<const std::byte>{};
    }
    /// How many references share the buffer (for tests).
    std::uint32_t use_count() const noexcept {
        return holder_ ? holder_->refs.load(std::memory_order_relaxed) : 0;
    }

    struct Holder {
        std::atomic<std::uint32_t> refs{1};
        std::vector<std::byte> bytes;
    };

  private:
    void release() noexcept;

    Holder* holder_ = nullptr;
};

}  // namespace courier
