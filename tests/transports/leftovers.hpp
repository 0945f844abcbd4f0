#pragma once
/// @file
/// What a transport test may leave behind, looked for when the test ends: the project's
/// rule is that a test leaves no socket file, FIFO, shared-memory segment or message
/// queue. The check is scheme-blind: it knows how kernel objects are listed or named, not
/// which transport made them, so a new transport is checked without a line here.

#include "transport_fixtures.hpp"

#include <set>
#include <string>
#include <vector>

namespace courier::test {

/// Everything a test's endpoint may have made, found by kind:
/// - any file in the test's directory (socket files, FIFOs);
/// - a unix socket bound to the endpoint, or to a name ending in ":<address>" (the
///   rendezvous of connectionless transports), in /proc/net/unix;
/// - a /dev/shm entry named "<stem>.*", where the stem is the endpoint's last name;
/// - a POSIX queue "/<stem>.<pid>.<n>.up|down" for this process and the children it forked
///   since (mq_open must say ENOENT: /dev/mqueue is not mounted here to list them);
/// - a System V queue that appeared since and that only processes of this test used
///   (/proc/sysvipc/msg, what ipcs reads; queues have no name to match, and one nobody
///   used yet may be a parallel test's).
class Leftovers {
  public:
    /// Takes note of the System V queues and forked children that exist now.
    Leftovers(const TempDir& dir, Endpoint endpoint);

    /// One line per object left, empty when there is none.
    std::vector<std::string> find() const;
    /// CHECKs that find() becomes empty within a few seconds: enough for a queue another
    /// test is setting up to become used or go, never needed by our own, which are gone
    /// when their owners are.
    void check() const;

  private:
    const TempDir& dir_;
    Endpoint endpoint_;
    std::set<int> sysv_before_;
    std::size_t children_before_;
};

}  // namespace courier::test
