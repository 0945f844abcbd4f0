#pragma once
/// @file
/// The large byte ranges an encoder leaves out of a frame's buffer, so that they go from
/// the value's memory to the link without being copied into the buffer first.

#include <cstddef>
#include <span>
#include <vector>

namespace courier {

/// Byte ranges a frame refers to instead of holding. The frame on the wire is its buffer
/// with each range inserted at its offset (`at`, in the buffer, in increasing order): the
/// ranges are borrowed from the value being encoded, which must outlive the send.
class ExternalParts {
  public:
    struct Range {
        std::size_t at;  ///< offset in the frame's buffer where the range goes
        std::span<const std::byte> bytes;
    };

    /// Notes that `bytes` go at offset `at` of the buffer (not before an earlier range's).
    void add(std::size_t at, std::span<const std::byte> bytes) {
        ranges_.push_back(Range{at, bytes});
        size_ += bytes.size();
    }
    bool empty() const noexcept { return ranges_.empty(); }
    /// The bytes of all the ranges: what the frame holds beyond its buffer.
    std::size_t size() const noexcept { return size_; }
    std::span<const Range> ranges() const noexcept { return ranges_; }
    /// Forgets the ranges; keeps the memory for the next frame.
    void clear() noexcept {
        ranges_.clear();
        size_ = 0;
    }

    /// Replaces `out` with the frame in wire order: the pieces of `buffer` with the ranges
    /// between them, empty pieces left out. What Link::send_parts takes.
    void lay_out(std::span<const std::byte> buffer,
                 std::vector<std::span<const std::byte>>& out) const;
    /// Appends to `out` the whole frame: `buffer` with the ranges between its pieces. A
    /// copy, for a frame that must outlive the value it was encoded from.
    void join(std::span<const std::byte> buffer, std::vector<std::byte>& out) const;

  private:
    std::vector<Range> ranges_;
    std::size_t size_ = 0;
};

}  // namespace courier
