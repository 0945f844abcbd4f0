#pragma once
/// @file
/// The questions tools ask nodes through courierd (InspectNode, registry_protocol.hpp):
/// each passed on to the node's connection as an Inspect, and its Inspected answer passed
/// back, or, failing that, why not. Bounded in count per asker and in time, so that a
/// node that never answers (stopped, SIGSTOPped) holds nothing for long.

#include "reactor.hpp"

#include "registry/registry_protocol.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace courier::registry {

/// The server's name for one connection (the same alias as in name_table.hpp).
using ConnectionId = std::uint64_t;

/// Runs on courierd's one thread, as NameTable does, whose handlers call it.
class Inspections {
  public:
    /// Questions one connection may have waiting; past that it is answered at once.
    static constexpr std::size_t max_waiting_per_asker = 16;
    /// How long a node has to answer.
    static constexpr std::chrono::milliseconds answer_within{2000};

    using Answer =
        std::function<void(ConnectionId to, std::uint64_t correlation, const Inspection& answer)>;
    using Ask = std::function<void(ConnectionId node, const Inspect& question)>;
    Inspections(detail::Reactor& timers, Answer answer, Ask ask);
    ~Inspections();  ///< cancels the timers of the questions still waiting
    Inspections(const Inspections&) = delete;
    Inspections& operator=(const Inspections&) = delete;

    /// Connection `asker` asks (request `correlation`) about `node`, which is on
    /// connection `node_connection` (nullopt: no such node is registered).
    void ask(ConnectionId asker, std::uint64_t correlation, const std::string& node,
             std::optional<ConnectionId> node_connection);
    /// Connection `from` answers; refused when it was not asked that question. An answer
    /// to a question given up on (timed out, asker gone) is accepted and dropped.
    Status answered(ConnectionId from, Inspected answer);
    /// Connection `id` closed: its questions are dropped, and those asked of it answered.
    void forget(ConnectionId id);

  private:
    struct Waiting {
        ConnectionId asker = 0;
        std::uint64_t correlation = 0;
        std::string node;
        ConnectionId node_connection = 0;
        detail::Reactor::TimerId timer;
    };
    void fail(std::uint64_t ask, const std::string& why);

    detail::Reactor& timers_;
    Answer answer_;
    Ask ask_;
    std::map<std::uint64_t, Waiting> waiting_;  ///< by the ask number
    std::uint64_t next_ask_ = 1;
};

}  // namespace courier::registry
