#pragma once
/// @file
/// What flows down the pipeline `pipeline-generate | pipeline-filter | pipeline-count`:
/// records, then one End. A record follows from its number alone, so a test knows the
/// count's output for a given input before it runs.

#include <courier/courier.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pipeline {

/// One record: its number, a pseudo-random value the filter's rule looks at, and a
/// payload (whose bytes follow from the value) to give it a size.
struct Record {
    std::uint64_t seq = 0;
    std::uint64_t value = 0;
    std::vector<std::uint8_t> payload;
    template <class Archive>
    void serialize(Archive& archive) {
        archive(seq, value, payload);
    }
};

/// After the last record. Each stage passes it on, behind its own last record, so a
/// stage that takes End has taken everything before it.
struct End {
    std::uint64_t generated = 0;  ///< records the generator made
    std::uint64_t passed = 0;     ///< records the stage before this one passed on
    std::uint64_t checksum = 0;   ///< fold() over those, in order
    /// When the generator had sent its last record (steady_clock, nanoseconds: Linux's
    /// CLOCK_MONOTONIC, one clock for every process of the host).
    std::int64_t generator_finished_ns = 0;
    template <class Archive>
    void serialize(Archive& archive) {
        archive(generated, passed, checksum, generator_finished_ns);
    }
};

/// Record number `seq` with `size` payload bytes: the value is splitmix64(seq), and
/// payload byte i is byte (i mod 8) of the value, least significant first.
Record make_record(std::uint64_t seq, std::size_t size);

/// The filter's rule: a record passes when its value mod 100 is below `keep_percent`.
inline bool passes(const Record& record, std::uint64_t keep_percent) {
    return record.value % 100 < keep_percent;
}

/// FNV-1a over the records in order (number, value, payload): one lost, duplicated,
/// reordered or corrupted changes it.
inline constexpr std::uint64_t checksum_seed = 0xcbf29ce484222325ULL;
inline std::uint64_t fold(std::uint64_t sum, const Record& record) {
    constexpr std::uint64_t prime = 0x100000001b3ULL;
    sum = (sum ^ record.seq) * prime;
    sum = (sum ^ record.value) * prime;
    for (auto byte : record.payload) sum = (sum ^ byte) * prime;
    return sum;
}

}  // namespace pipeline

COURIER_MESSAGE(pipeline::Record, "pipeline.Record");
COURIER_MESSAGE(pipeline::End, "pipeline.End");
