#pragma once
/// @file
/// What the master (`prefork_httpd`) and its workers (`prefork_httpd-worker`) say to each
/// other, and the names they find each other by. The master accepts TCP connections and
/// hands each socket to the least loaded worker; the worker serves HTTP on it and says
/// when it closed, so that the master's idea of a worker's load is real.

#include <courier/courier.hpp>

#include <cereal/types/vector.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace httpd {

/// The group every worker joins: the master hands sockets to its members.
inline constexpr const char* workers_group = "httpd.workers";
/// The master's actor: workers tell it about closed connections and ask it for /stats.
inline constexpr const char* master_name = "httpd.master";

/// Master -> worker: an accepted connection, not read from. The socket travels by
/// SCM_RIGHTS, so the link between the two must pass descriptors (links.hpp).
struct NewConnection {
    std::uint64_t id = 0;  ///< the master's number for it, which Closed gives back
    courier::Fd socket;
    template <class A>
    void serialize(A& a) {
        a(id, socket);
    }
};

/// Worker -> master: connection `id` is closed; `requests` were served on it.
struct Closed {
    std::uint64_t id = 0;
    std::uint64_t requests = 0;
    template <class A>
    void serialize(A& a) {
        a(id, requests);
    }
};

/// Worker -> master, a request: the counts for the /stats page. Answered by Stats.
struct StatsQuery {
    template <class A>
    void serialize(A&) {}
};

/// One worker as the master sees it, by name (a restarted worker keeps its name).
struct WorkerStats {
    std::string name;
    std::int64_t pid = 0;           ///< its current process; 0 while it is down
    std::uint64_t open = 0;         ///< connections it holds now: its load
    std::uint64_t connections = 0;  ///< connections handed to it, all incarnations
    std::uint64_t requests = 0;     ///< requests it served on connections that closed
    std::uint64_t restarts = 0;     ///< times it joined again after leaving
    template <class A>
    void serialize(A& a) {
        a(name, pid, open, connections, requests, restarts);
    }
};

struct Stats {
    std::uint64_t accepted = 0;  ///< connections the master accepted
    std::uint64_t waiting = 0;   ///< accepted, held until a worker is up
    std::vector<WorkerStats> workers;
    template <class A>
    void serialize(A& a) {
        a(accepted, waiting, workers);
    }
};

}  // namespace httpd

COURIER_MESSAGE(httpd::NewConnection, "prefork_httpd.NewConnection");
COURIER_MESSAGE(httpd::Closed, "prefork_httpd.Closed");
COURIER_MESSAGE(httpd::StatsQuery, "prefork_httpd.StatsQuery");
COURIER_MESSAGE(httpd::Stats, "prefork_httpd.Stats");
