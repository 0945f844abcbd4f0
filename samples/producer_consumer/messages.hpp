#pragma once
// The messages the producer and the consumer share, and the pool's (pc-launcher).

#include <courier/courier.hpp>

#include <cstddef>
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

/// A consumer's answer to an Item that came through the pool (a request): which item it
/// took, and the checksum of what it got (item_checksum), for the producer to compare.
struct Taken {
    std::uint64_t seq = 0;
    std::uint64_t checksum = 0;
    template <class Archive>
    void serialize(Archive& archive) {
        archive(seq, checksum);
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

/// Item number `seq` with `size` payload bytes: byte i is (seq + i) mod 256.
inline Item make_item(std::uint64_t seq, std::size_t size) {
    Item item{seq, std::vector<std::uint8_t>(size)};
    for (std::size_t i = 0; i < size; ++i) item.payload[i] = static_cast<std::uint8_t>(seq + i);
    return item;
}

/// One item's checksum. Through a pool the items of several producers reach several
/// consumers in no fixed order, so totals are sums of these (mod 2^64), which any order
/// gives alike; the items' numbers are unique across producers (--first-seq), so an
/// item lost and another duplicated still change the sum.
inline std::uint64_t item_checksum(const Item& item) {
    return fold(checksum_seed, item);
}

}  // namespace pc

COURIER_MESSAGE(pc::Item, "producer_consumer.Item");
COURIER_MESSAGE(pc::Done, "producer_consumer.Done");
COURIER_MESSAGE(pc::Verdict, "producer_consumer.Verdict");
COURIER_MESSAGE(pc::Taken, "producer_consumer.Taken");
