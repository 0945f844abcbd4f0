#pragma once
/// @file
/// One received buffer shared by the frames it holds: a packed chunk of the fragmentation
/// layer carries hundreds of small frames, and each frame views its part of the chunk
/// instead of being copied into a buffer of its own. Also the buffer of one large frame
/// that a link reads straight into (uninitialized(): not zero-filled first), and that the
/// large Bytes decoded from it go on sharing.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
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
    /// A buffer of `size` bytes whose content is undefined until written (writable()): a
    /// std::vector zero-fills what it grows by, a memset as long as the read that follows.
    /// Its memory is a spare one of the right size when there is one; a fresh one gets its
    /// pages from the kernel only as they are written.
    static SharedBytes uninitialized(std::size_t size);
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
        if (!holder_) return {};
        if (holder_->block) return {holder_->block.get(), holder_->block_size};
        return holder_->bytes;
    }
    /// The bytes of an uninitialized() buffer, to fill before it is shared with anyone.
    std::span<std::byte> writable() noexcept {
        return holder_ && holder_->block
                   ? std::span<std::byte>(holder_->block.get(), holder_->block_size)
                   : std::span<std::byte>{};
    }
    /// How many references share the buffer (for tests).
    std::uint32_t use_count() const noexcept {
        return holder_ ? holder_->refs.load(std::memory_order_relaxed) : 0;
    }

    struct Holder {
        std::atomic<std::uint32_t> refs{1};
        std::vector<std::byte> bytes;
        /// Or, for uninitialized(): a block of block_capacity bytes, block_size of them used.
        std::unique_ptr<std::byte[]> block;
        std::size_t block_size = 0, block_capacity = 0;
    };

  private:
    void release() noexcept;

    Holder* holder_ = nullptr;
};

}  // namespace courier
