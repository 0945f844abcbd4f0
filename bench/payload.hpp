#pragma once
/// @file
/// The bytes every run moves and how the receiver checks them: a fixed pattern with the
/// sequence number stamped in, and a checksum fold that any lost, duplicated, reordered
/// or corrupted message changes. Courier and raw runs use the same two functions, so the
/// work outside the transport is the same on both sides of a ratio.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace courier::bench {

inline constexpr std::uint64_t checksum_seed = 0xcbf29ce484222325ULL;

/// The payload of message `seq`: a pattern, with `seq` in its first 8 bytes (or fewer).
class Pattern {
  public:
    explicit Pattern(std::size_t size) : base_(size) {
        for (std::size_t i = 0; i < size; ++i)
            base_[i] = static_cast<std::uint8_t>((i * 131 + 7) ^ (i >> 8));
    }
    std::size_t size() const noexcept { return base_.size(); }
    /// Writes message `seq` into `out` (of size()).
    void fill(std::span<std::uint8_t> out, std::uint64_t seq) const noexcept {
        if (out.empty()) return;
        std::memcpy(out.data(), base_.data(), base_.size());
        std::memcpy(out.data(), &seq, std::min(sizeof(seq), out.size()));
    }

  private:
    std::vector<std::uint8_t> base_;
};

/// Folds message `seq` with its bytes into `sum`. Four independent multiply lanes keep
/// it at several GB/s, so checking 1 MiB payloads does not hide the transport; each
/// step is a bijection of its lane, so a single corrupted word always shows.
inline std::uint64_t fold(std::uint64_t sum, std::uint64_t seq,
                          std::span<const std::uint8_t> bytes) noexcept {
    constexpr std::uint64_t k = 0x9e3779b97f4a7c15ULL;
    std::uint64_t lane[4] = {seq ^ 0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL,
                             0xa4093822299f31d0ULL, bytes.size() ^ 0x082efa98ec4e6c89ULL};
    const std::uint8_t* p = bytes.data();
    std::size_t n = bytes.size();
    for (; n >= 32; n -= 32, p += 32) {
        std::uint64_t w[4];
        std::memcpy(w, p, 32);
        for (int i = 0; i < 4; ++i) lane[i] = (lane[i] ^ w[i]) * k;
    }
    for (; n >= 8; n -= 8, p += 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        lane[0] = (lane[0] ^ w) * k;
    }
    for (; n > 0; --n, ++p) lane[1] = (lane[1] ^ *p) * k;
    const std::uint64_t h =
        lane[0] ^ std::rotl(lane[1], 17) ^ std::rotl(lane[2], 31) ^ std::rotl(lane[3], 47);
    return (sum ^ h) * 0x100000001b3ULL + std::rotl(sum, 23);
}

}  // namespace courier::bench
