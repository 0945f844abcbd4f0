#pragma once
/// @file
/// Integers in little-endian byte order, as courier's wire formats store them: one load or
/// store on a little-endian host. (A loop of byte shifts is not always merged into one by
/// the compiler: at -O2, g++ 12 left the fragmentation layer's frame lengths as four
/// loads and shifts each.)

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstring>

namespace courier {

/// The unsigned integer stored little-endian at `at` (any alignment).
template <std::unsigned_integral U>
U load_le(const std::byte* at) noexcept {
    U value = 0;
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(&value, at, sizeof value);
    } else {
        for (std::size_t i = 0; i < sizeof(U); ++i)
            value = static_cast<U>(value | (static_cast<U>(at[i]) << (8 * i)));
    }
    return value;
}

/// Stores `value` little-endian at `at` (any alignment).
template <std::unsigned_integral U>
void store_le(std::byte* at, U value) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(at, &value, sizeof value);
    } else {
        for (std::size_t i = 0; i < sizeof(U); ++i)
            at[i] = static_cast<std::byte>((value >> (8 * i)) & 0xff);
    }
}

}  // namespace courier
