#include "raw_mechanism.hpp"

#include <stdexcept>

namespace courier::bench {

const RawMechanism& raw_mechanism(std::string_view name) {
    static const std::vector<RawMechanism> mechanisms = {
        raw_pipe(),    raw_fifo(),    raw_unix(), raw_tcp(),    raw_tcp_each(),
        raw_posixmq(), raw_sysv(),    raw_shm(),  raw_inproc(),
#ifdef COURIER_BENCH_ZMQ
        raw_zmq_ipc(), raw_zmq_tcp(),
#endif
    };
    for (const auto& mechanism : mechanisms)
        if (mechanism.name == name) return mechanism;
    throw std::invalid_argument("no raw mechanism named '" + std::string(name) + "'");
}

}  // namespace courier::bench
