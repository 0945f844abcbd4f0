#pragma once
/// @file
/// A supervisor of child processes, in the manner of Erlang/OTP's: an actor that starts
/// programs as children, one after the other, and restarts them when they end.
///
///     SupervisorSpec spec;
///     spec.strategy = RestartStrategy::one_for_one;
///     spec.children.push_back({.id = "db", .process = {.argv = {"./db"}}, .names = {"db"}});
///     node.spawn<Supervisor>("sup", spec);
///
/// A child counts as started once every name of ChildSpec::names is registered by its
/// process (the registry's NameUp), or at once when it lists none; the next child starts
/// then. A child that exits first (whatever its exit code), or is not up within
/// start_timeout (it gets SIGKILL), failed to start, which counts as a crash. Each
/// restart waits out the child's backoff (initial, doubled for every restart of that
/// child within the intensity period, at most backoff_max). More than max_restarts
/// restarts within period and the supervisor gives up: it stops every child (last
/// started first) and then itself, so whoever monitors its name gets Down{stopped}. It
/// stops its children the same way when it stops for any other reason.
///
/// The children die with this process however it ends (ProcessOptions::
/// parent_death_signal, SIGKILL unless the spec says otherwise), and start with this
/// node's config (Node::spawn_process). Their exits reach the node's reactor through a
/// pidfd; every child is reaped. Ask `WhichChildren` (a request) for their state.

#include <courier/framework/actor.hpp>
#include <courier/framework/child_process.hpp>
#include <courier/serialization/message_type.hpp>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace courier {

/// Which children restart when one ends.
enum class RestartStrategy : std::uint8_t {
    one_for_one,   ///< only that child
    one_for_all,   ///< every child: the others are stopped, then all start in order
    rest_for_one,  ///< that child and the ones started after it
};

/// When a child that ended is restarted.
enum class RestartPolicy : std::uint8_t {
    permanent,  ///< always
    transient,  ///< only when it failed (a signal, an exit code other than 0, a start timeout)
    /// Never: it is left stopped, also when a sibling's restart (one_for_all,
    /// rest_for_one) stopped it.
    temporary,
};

struct ChildSpec {
    /// Names the child in logs and in WhichChildren; unique within its supervisor.
    std::string id;
    /// What to start (Node::spawn_process). Its parent_death_signal, when 0, becomes SIGKILL.
    ProcessOptions process;
    /// Names the child's process registers; it counts as started when all are up.
    std::vector<std::string> names;
    /// Where it runs. Empty: here, a child process of this node. Else another host of the
    /// federation (docs/multihost.md, "Placement"): that host's courierd starts
    /// `process.argv[0]`, a name of its `[registry.placeable]`, with the rest of argv as
    /// extra arguments (Node::place); `process`'s other fields do not apply. It needs
    /// `names`: a Down of any of them (`name@host`) is how its end is known, and stopping it
    /// is stop_placed (SIGTERM, `shutdown` for its names to go, then SIGKILL). It is bound
    /// to the supervisor's name (Placement::bound_to): its host kills it when that goes.
    std::string host;
    RestartPolicy restart = RestartPolicy::permanent;
    /// How long it has to register its names.
    std::chrono::milliseconds start_timeout{5000};
    /// How long it has to exit after SIGTERM when it is stopped, before SIGKILL.
    std::chrono::milliseconds shutdown{2000};
    /// The wait before its first restart in a period; doubled for each further one.
    std::chrono::milliseconds backoff_initial{100};
    std::chrono::milliseconds backoff_max{5000};
};

struct SupervisorSpec {
    RestartStrategy strategy = RestartStrategy::one_for_one;
    /// The restart intensity: more than max_restarts restarts within period (all children
    /// together) and the supervisor gives up.
    std::uint32_t max_restarts = 3;
    std::chrono::milliseconds period{5000};
    /// Started in this order; stopped in the reverse order.
    std::vector<ChildSpec> children;
};

/// A request to a Supervisor; it answers Children.
struct WhichChildren {
    template <class A>
    void serialize(A&) {}
};

/// One child of a supervisor, as WhichChildren answers.
struct ChildInfo {
    std::string id;
    std::int64_t pid = 0;  ///< its process while it runs (also while starting), else 0
    /// "starting" (waiting for its names), "running", "waiting" (its backoff, or an earlier
    /// child's start) or "stopped" (a temporary or transient child that ended).
    std::string state;
    std::uint32_t restarts = 0;  ///< since the supervisor started
    std::string last_exit;       ///< how its last process ended ("" if none did)
    /// When its processes started, in milliseconds since the supervisor started (the last 32).
    std::vector<std::int64_t> start_times_ms;
    std::string host;  ///< ChildSpec::host: empty for a child of this node
    template <class A>
    void serialize(A& a) {
        a(id, pid, state, restarts, last_exit, start_times_ms, host);
    }
};

struct Children {
    std::vector<ChildInfo> children;
    template <class A>
    void serialize(A& a) {
        a(children);
    }
};

/// The supervisor actor: `node.spawn<Supervisor>(name, spec)` (or from an actor,
/// `node().spawn<Supervisor>(...)`, then `monitor(name)` to hear when it gives up).
/// Needs a node with a registry when a child lists names.
class Supervisor final : public Actor {
  public:
    explicit Supervisor(SupervisorSpec spec);
    ~Supervisor() override;

  protected:
    void on_start() override;
    void on_stop() override;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace courier

COURIER_MESSAGE(courier::WhichChildren, "courier.WhichChildren");
COURIER_MESSAGE(courier::ChildInfo, "courier.ChildInfo");
COURIER_MESSAGE(courier::Children, "courier.Children");
