#include "messages.hpp"

namespace pipeline {

namespace {

/// splitmix64 (Steele, Lea and Flood): a well-mixed value from a counter.
std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

}  // namespace

Record make_record(std::uint64_t seq, std::size_t size) {
    Record record{seq, splitmix64(seq), std::vector<std::uint8_t>(size)};
    for (std::size_t i = 0; i < size; ++i)
        record.payload[i] = static_cast<std::uint8_t>(record.value >> (8 * (i % 8)));
    return record;
}

}  // namespace pipeline
