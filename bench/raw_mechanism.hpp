#pragma once
/// @file
/// The raw baselines: each kernel mechanism under a courier transport, used the way an
/// expert would use it in plain code — whole messages in as few calls as the mechanism
/// allows, a buffered reader for streams, a batching ring for shared memory — to move
/// the same bytes (docs/performance.md describes each).
///
/// The orchestrator creates a run's kernel objects (a Wiring), starts the two peers with
/// a spec string (and inherited descriptors), and removes the objects afterwards; each
/// peer opens its end as a Channel. One file per mechanism: raw_<name>.cpp.

#include "options.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier::bench {

/// A peer's end of a raw mechanism: a way out and, in latency runs, a way back.
/// Failures (a peer that went away, a syscall error) throw.
class Channel {
  public:
    virtual ~Channel() = default;
    /// Sends one message; it may wait in the channel until flush() (or until a batch is
    /// full), the way a buffered writer's does.
    virtual void send(std::span<const std::uint8_t> message) = 0;
    /// Sends what send() holds back: after the last message of a burst, and after every
    /// message the sender then waits on (a ping, its echo).
    virtual void flush() {}
    /// Receives one message of exactly `out.size()` bytes.
    virtual void receive(std::span<std::uint8_t> out) = 0;
};

/// The kernel objects of one raw run, owned by the orchestrator; removed on destruction.
class Wiring {
  public:
    virtual ~Wiring() = default;
    /// The --raw-spec of the peer on side a or b.
    virtual std::string spec(Side side) const = 0;
    /// Descriptors that peer inherits.
    virtual std::vector<int> fds(Side) const { return {}; }
    /// Both peers have opened their ends: names can go now.
    virtual void opened() {}
};

struct RawMechanism {
    std::string name;
    /// The limits and settings a run uses, for the report.
    std::function<std::string()> describe;
    /// Orchestrator: creates the objects; `duplex` adds the way back (latency runs).
    std::function<std::unique_ptr<Wiring>(bool duplex)> wire;
    /// Peer: opens its end.
    std::function<std::unique_ptr<Channel>(Side side, const std::string& spec)> open;
};

/// The mechanism named by a transport_table() row's `raw`. Throws std::invalid_argument.
const RawMechanism& raw_mechanism(std::string_view name);

/// How a stream channel writes: messages gathered into batches (the expert's baseline),
/// or each in a write of its own (one writev(2) per message, header and payload), the
/// figure an application that writes as it goes gets, and issue #21's 64 B target.
enum class Writes { gathered, each };

/// A connected pair of TCP sockets (TCP_NODELAY): listening at `listen_at` (an IPv4
/// address) in network namespace `listen_netns` (side b's), connected from `connect_netns`
/// (side a's); -1 for this process's namespace. Throws std::system_error.
std::unique_ptr<Wiring> wire_tcp(const std::string& listen_at, int listen_netns, int connect_netns);
/// What a raw tcp run is, for the report: `where` the pair is ("over 127.0.0.1").
std::string describe_tcp(const std::string& where, Writes writes = Writes::gathered);

/// Two ends of an in-process ring pair (for the in-process row, run on two threads).
std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>> thread_channels(bool duplex);

// One per file.
RawMechanism raw_pipe();
RawMechanism raw_fifo();
RawMechanism raw_unix();
RawMechanism raw_tcp();
RawMechanism raw_tcp_each();  ///< in raw_tcp.cpp: the same pair, one write per message
RawMechanism raw_posixmq();
RawMechanism raw_sysv();
RawMechanism raw_shm();
RawMechanism raw_inproc();
#ifdef COURIER_BENCH_ZMQ
/// ZeroMQ, for comparison (raw_zmq.cpp; built when libzmq is found).
RawMechanism raw_zmq_ipc();
RawMechanism raw_zmq_tcp();
#endif

}  // namespace courier::bench
