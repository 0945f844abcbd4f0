#pragma once
/// @file
/// The task farm's messages and names, shared by the master (`taskfarm`) and its workers
/// (`taskfarm-worker`). A task counts the primes in a range of numbers: real work, whose
/// total the master checks against a sieve of its own.

#include <courier/courier.hpp>

#include <cstdint>
#include <string>

namespace taskfarm {

/// The group the workers join, and the pool that hands them tasks.
inline constexpr const char* workers_group = "taskfarm.workers";
inline constexpr const char* pool_name = "taskfarm.pool";

/// Count the primes p with lo <= p < hi. `id` numbers the task (0 .. tasks-1).
struct Count {
    std::uint64_t id = 0;
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
    template <class A>
    void serialize(A& a) {
        a(id, lo, hi);
    }
};

/// The answer: how many primes, and who counted them.
struct Counted {
    std::uint64_t id = 0;
    std::uint64_t primes = 0;
    std::string worker;  ///< the worker actor's name
    std::int64_t pid = 0;
    template <class A>
    void serialize(A& a) {
        a(id, primes, worker, pid);
    }
};

/// The primes in [lo, hi), by trial division by 2, 3 and then 6k +- 1: the workers' work.
std::uint64_t count_primes(std::uint64_t lo, std::uint64_t hi);

}  // namespace taskfarm

COURIER_MESSAGE(taskfarm::Count, "taskfarm.Count");
COURIER_MESSAGE(taskfarm::Counted, "taskfarm.Counted");
