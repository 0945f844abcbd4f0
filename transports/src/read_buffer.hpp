#pragma once
/// @file
/// The bytes a reader has received but not yet consumed. Private to courier_transports.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>

namespace courier::detail {

/// A byte queue that reads land in directly: room() hands out uninitialized space at the
/// back, commit() keeps what a read put there, consume() drops bytes from the front.
///
/// It exists because a std::vector zero-fills what it grows by: a stream link asking for
/// 64 KiB per read paid a 64 KiB memset for every read, whatever arrived. Consuming only
/// moves the front; the unread rest moves back to the start when room() needs the space.
class ReadBuffer {
  public:
    const std::byte* data() const noexcept { return storage_.get() + head_; }
    std::size_t size() const noexcept { return tail_ - head_; }
    bool empty() const noexcept { return tail_ == head_; }

    /// `wanted` bytes of uninitialized space after the held bytes, which stay.
    std::span<std::byte> room(std::size_t wanted) {
        if (capacity_ - tail_ < wanted) make_room(wanted);
        return {storage_.get() + tail_, wanted};
    }
    /// Keeps `count` bytes a read wrote at the start of room().
    void commit(std::size_t count) noexcept { tail_ += count; }
    /// Drops the first `count` held bytes.
    void consume(std::size_t count) noexcept {
        head_ += count;
        if (head_ == tail_) head_ = tail_ = 0;  // the next read starts at the front
    }
    /// Keeps only the first `count` held bytes.
    void truncate(std::size_t count) noexcept { tail_ = head_ + count; }
    void clear() noexcept { head_ = tail_ = 0; }
    /// Empties it and gives its memory back.
    void release() noexcept {
        storage_.reset();
        capacity_ = head_ = tail_ = 0;
    }

  private:
    void make_room(std::size_t wanted) {
        const std::size_t held = size();
        if (capacity_ - held >= wanted) {  // the space is there, behind consumed bytes
            std::memmove(storage_.get(), data(), held);
        } else {
            const std::size_t capacity = std::max(held + wanted, 2 * capacity_);
            auto grown = std::make_unique_for_overwrite<std::byte[]>(capacity);
            if (held != 0) std::memcpy(grown.get(), data(), held);
            storage_ = std::move(grown);
            capacity_ = capacity;
        }
        head_ = 0;
        tail_ = held;
    }

    std::unique_ptr<std::byte[]> storage_;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;  ///< first held byte
    std::size_t tail_ = 0;  ///< one past the last held byte
};

}  // namespace courier::detail
