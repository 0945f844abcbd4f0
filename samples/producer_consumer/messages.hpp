#pragma once
// The messages the producer and the consumer share.

#include <courier/courier.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace pc {

/// One unit of work: a sequence number and a payload of --size bytes.
struct Item {
    std::uint64_t seq = 0;
    std::vector<std::uint8_t> payload;
    template <class Archive>
    void serialize(Archive& archive) {
        archive(seq, payload);
    }
};

/// Sent by the producer after the last item: how many it sent and their checksum.
struct Done {
    std::uint64_t count = 0;
    std::uint64_t checksum = 0;
    template <class Archive>
    void serialize(Archive& archive) {
        archive(count, checksum);
    }
};

/// The consumer's verdict, the reply to Done.
struct Verdict {
    bool ok = false;
    std::uint64_t count = 0;
    std::uint64_t checksum = 0;
    template <class Archive>
    void serialize(Archive& archive) {
        archive(ok, count, checksum);
    }
};

/// FNV-1a over the payloads in order, folded with the sequence numbers: any lost,
/// duplicated, reordered or corrupted item changes it.
inline std::uint64_t fold(std::uint64_t sum, const Item& item) {
    sum ^= item.seq;
    sum *= 0x100000001b3ULL;
    for (auto byte : item.payload) {
        sum ^= byte;
        sum *= 0x100000001b3ULL;
    }
    return sum;
}
inline constexpr std::uint64_t checksum_seed = 0xcbf29ce484222325ULL;

}  // namespace pc

COURIER_MESSAGE(pc::Item, "producer_consumer.Item");
COURIER_MESSAGE(pc::Done, "producer_consumer.Done");
COURIER_MESSAGE(pc::Verdict, "producer_consumer.Verdict");
