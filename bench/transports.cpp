#include "transports.hpp"

#include <courier/transports/transport.hpp>

#include <algorithm>

namespace courier::bench {

const std::vector<TransportRow>& transport_table() {
    static const std::vector<TransportRow> rows = [] {
        // `pipe:` links a node to a child it spawns, so its courier run will start the
        // receiver from the sender's node instead of as a second bench process; until
        // that Node API exists the row measures the raw pipe(2) alone.
        std::vector<TransportRow> table = {
            {"pipe", CourierMode::spawned, "pipe", ""},
            {"fifo", CourierMode::two_processes, "fifo", ""},
            {"sysv", CourierMode::two_processes, "sysv", ""},
            {"posixmq", CourierMode::two_processes, "posixmq", ""},
            {"shm", CourierMode::two_processes, "shm", ""},
            {"unix", CourierMode::two_processes, "unix", ""},
            {"tcp", CourierMode::two_processes, "tcp", ""},
            {"tcp-each", CourierMode::baseline_only, "tcp-each",
             "raw TCP written one message per call, beside the tcp row: no courier run"},
            {"inproc", CourierMode::one_process, "inproc", ""},
#ifdef COURIER_BENCH_ZMQ
            {"zmq-ipc", CourierMode::other_library, "zmq-ipc",
             "ZeroMQ, not courier: its figures are in the RAW columns"},
            {"zmq-tcp", CourierMode::other_library, "zmq-tcp",
             "ZeroMQ, not courier: its figures are in the RAW columns"},
#endif
        };
        for (auto& row : table) {
            if ((row.courier == CourierMode::two_processes ||
                 row.courier == CourierMode::spawned) &&
                TransportRegistry::builtin().find(row.name) == nullptr) {
                row.courier = CourierMode::not_yet;
                row.note = "courier built without " + row.name + ":";
            }
        }
        return table;
    }();
    return rows;
}

const TransportRow* find_transport(std::string_view name) {
    for (const auto& row : transport_table())
        if (row.name == name) return &row;
    return nullptr;
}

}  // namespace courier::bench
