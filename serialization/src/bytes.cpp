#include <courier/serialization/bytes.hpp>

#include <cstdint>

namespace courier {

void CEREAL_SAVE_FUNCTION_NAME(PayloadOutputArchive& archive, const Bytes& bytes) {
    archive(static_cast<std::uint64_t>(bytes.size()));
    // Left out of the buffer: the link takes it from the value's memory (send_parts).
    if (auto* parts = archive.external_parts(); parts && bytes.size() >= Bytes::part_threshold) {
        parts->add(archive.written(), bytes.span());
        return;
    }
    archive.saveBinary<1>(bytes.data(), bytes.size());
}

void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive, Bytes& bytes) {
    std::uint64_t size = 0;
    archive(size);
    archive.check_count(size);  // no allocation for a size the payload cannot hold
    const auto taken = archive.take_bytes(static_cast<std::size_t>(size));
    if (auto* keeper = archive.keeper(); keeper && taken.size() >= Bytes::part_threshold) {
        bytes = Bytes::shared(keeper->keep(), taken);
        return;
    }
    bytes = Bytes(taken);  // a copy out of the payload, not zero-filled first
}

}  // namespace courier
