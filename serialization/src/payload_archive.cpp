#include <courier/serialization/payload_archive.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

namespace courier {

PayloadInputArchive::PayloadInputArchive(std::span<const std::byte> bytes)
    : cereal::InputArchive<PayloadInputArchive, cereal::AllowEmptyClassElision>(this),
      bytes_(bytes) {
    std::uint8_t little_endian = 0;
    read_raw(&little_endian, 1);
    if (little_endian > 1)
        throw cereal::Exception("payload byte order byte is " + std::to_string(little_endian) +
                                ", not 0 or 1");
    swap_bytes_ = (little_endian == 1) != (std::endian::native == std::endian::little);
}

void PayloadInputArchive::check_count(std::uint64_t count) const {
    if (count > bytes_left())
        throw cereal::Exception("payload announces " + std::to_string(count) +
                                " elements but only " + std::to_string(bytes_left()) +
                                " bytes are left");
}

void PayloadInputArchive::read_raw(void* data, std::size_t size) {
    if (size > bytes_left())
        throw cereal::Exception("payload ends early: " + std::to_string(size) + " bytes wanted, " +
                                std::to_string(bytes_left()) + " left");
    if (size != 0) std::memcpy(data, bytes_.data() + position_, size);
    position_ += size;
}

void PayloadInputArchive::reverse_elements(void* data, std::size_t size, std::size_t element_size) {
    auto* bytes = static_cast<unsigned char*>(data);
    for (std::size_t i = 0; i + element_size <= size; i += element_size)
        std::reverse(bytes + i, bytes + i + element_size);
}

void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive, bool& value) {
    std::uint8_t byte = 0;
    archive.loadBinary<1>(&byte, 1);
    if (byte > 1) throw cereal::Exception("bool byte is " + std::to_string(byte) + ", not 0 or 1");
    value = byte == 1;
}

}  // namespace courier
