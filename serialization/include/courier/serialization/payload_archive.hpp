#pragma once
/// @file
/// The Cereal input archive that reads payloads off the wire. It reads exactly the bytes
/// of cereal::PortableBinaryOutputArchive, but it does not trust them: Cereal's own input
/// archive resizes a string or vector to a length read from the bytes before reading the
/// elements, so a forged length of 2^40 makes it allocate a terabyte. This archive checks
/// every such length against the bytes that are left, reads straight from a span (no
/// std::istream), and refuses a bool byte other than 0 or 1 (which would be undefined
/// behaviour once loaded into a `bool`). Failures throw cereal::Exception.

#include <cereal/archives/portable_binary.hpp>
#include <cereal/cereal.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <type_traits>

namespace courier {

class PayloadInputArchive
    : public cereal::InputArchive<PayloadInputArchive, cereal::AllowEmptyClassElision> {
  public:
    /// Reads the archive's leading byte order byte (1: little-endian, 0: big-endian).
    explicit PayloadInputArchive(std::span<const std::byte> bytes);

    PayloadInputArchive(const PayloadInputArchive&) = delete;
    PayloadInputArchive& operator=(const PayloadInputArchive&) = delete;

    /// Bytes not read yet.
    std::size_t bytes_left() const noexcept { return bytes_.size() - position_; }

    /// Copies `size` bytes into `data`, reversing each `ElementSize`-byte element when the
    /// payload's byte order is not the host's. Throws if fewer than `size` bytes are left.
    template <std::size_t ElementSize>
    void loadBinary(void* data, std::size_t size) {
        read_raw(data, size);
        if constexpr (ElementSize > 1) {
            if (swap_bytes_) reverse_elements(data, size, ElementSize);
        }
    }

    /// Refuses an element count larger than the bytes left: every element takes at least
    /// one byte on the wire, so a larger count is a lie, and believing it would allocate.
    void check_count(std::uint64_t count) const;

  private:
    void read_raw(void* data, std::size_t size);
    static void reverse_elements(void* data, std::size_t size, std::size_t element_size);

    std::span<const std::byte> bytes_;
    std::size_t position_ = 0;
    bool swap_bytes_ = false;
};

// Cereal finds these by argument-dependent lookup on the archive type.

template <class T>
requires(std::is_arithmetic_v<T> &&
         !std::is_same_v<T, bool>) void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive,
                                                                  T& value) {
    static_assert(!std::is_floating_point_v<T> || std::numeric_limits<T>::is_iec559,
                  "portable binary only supports IEEE 754 floating point");
    archive.loadBinary<sizeof(T)>(std::addressof(value), sizeof(T));
}

/// A bool is one byte, 0 or 1; anything else is refused rather than loaded.
void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive, bool& value);

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive, cereal::NameValuePair<T>& pair) {
    archive(pair.value);
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive, cereal::SizeTag<T>& tag) {
    archive(tag.size);
    archive.check_count(static_cast<std::uint64_t>(tag.size));
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive, cereal::BinaryData<T>& data) {
    using Element = std::remove_pointer_t<T>;
    static_assert(!std::is_floating_point_v<Element> || std::numeric_limits<Element>::is_iec559,
                  "portable binary only supports IEEE 754 floating point");
    archive.loadBinary<sizeof(Element)>(data.data, static_cast<std::size_t>(data.size));
}

}  // namespace courier

CEREAL_REGISTER_ARCHIVE(courier::PayloadInputArchive)

// Only the input-to-output direction: PortableBinaryOutputArchive already maps back to
// cereal::PortableBinaryInputArchive, and Cereal needs this one to pair load_minimal with
// save_minimal.
namespace cereal::traits::detail {
template <>
struct get_output_from_input<courier::PayloadInputArchive> {
    using type = cereal::PortableBinaryOutputArchive;
};
}  // namespace cereal::traits::detail
