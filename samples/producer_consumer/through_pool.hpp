#pragma once
// The producer's second way to send (`producer --pool NAME`, as pc-launcher starts it):
// each item as a request to a courier::Pool, which hands it to one of the consumers of
// its group and passes the consumer's answer back.

#include <courier/courier.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace pc {

struct PoolRun {
    std::string pool;  ///< the pool actor's name
    std::string name;  ///< this producer's actor (and node) name, as its output says it
    std::uint64_t count = 0;
    std::size_t size = 0;
    std::uint64_t first_seq = 0;  ///< its items are first_seq .. first_seq + count - 1
    std::uint64_t window = 64;    ///< requests unanswered at once
};

/// Sends `run.count` items through the pool from an actor named `run.name`, keeping
/// `run.window` unanswered, and checks that each answer names its item and the checksum
/// the producer computed. Prints a summary and the throughput of its links. Returns the
/// exit status: 0 when every item was answered right, 1 otherwise.
int produce_through_pool(courier::Node& node, const PoolRun& run);

}  // namespace pc
