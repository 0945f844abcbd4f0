#pragma once
/// @file
/// The rows of the benchmark: each transport, how courier is run over it, and the raw
/// mechanism it is compared with.

#include <string>
#include <string_view>
#include <vector>

namespace courier::bench {

enum class CourierMode {
    two_processes,  ///< two nodes, COURIER_TRANSPORT=<scheme>
    one_process,    ///< two actors of one node: mailbox delivery
    spawned,        ///< side a's node starts side b (Node::spawn_process), linked by <scheme>
    not_yet,        ///< no courier run (yet): only the raw baseline is measured
    /// Another raw baseline of a transport that has its own row: only raw runs.
    baseline_only,
    /// Not courier: another library (ZeroMQ), measured in the raw columns so its figures
    /// sit beside courier's rows of the same run.
    other_library,
};

struct TransportRow {
    std::string name;  ///< as given to --transports and shown in the tables
    CourierMode courier = CourierMode::two_processes;
    std::string raw;   ///< the raw mechanism (raw_mechanism.hpp)
    std::string note;  ///< shown when there is no courier run
};

/// pipe, fifo, sysv, posixmq, shm, unix, tcp, inproc, and zmq-ipc, zmq-tcp in a build
/// with libzmq. A scheme of courier's that this
/// build lacks is turned into a not_yet row.
const std::vector<TransportRow>& transport_table();
const TransportRow* find_transport(std::string_view name);

}  // namespace courier::bench
