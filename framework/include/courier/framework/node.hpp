#pragma once
/// @file
/// A node: one process's actor system. It runs actors on a small thread pool, reads its
/// links on an epoll reactor thread, and registers itself and its actors with the host's
/// registry (`courierd`, started on demand), so any process on the host can reach its
/// actors by name.

#include <courier/expected.hpp>
#include <courier/framework/actor.hpp>
#include <courier/framework/actor_placement.hpp>
#include <courier/framework/child_process.hpp>
#include <courier/framework/config.hpp>
#include <courier/framework/credit_window.hpp>
#include <courier/framework/detail/letter.hpp>
#include <courier/framework/detail/reply.hpp>
#include <courier/framework/error.hpp>
#include <courier/framework/failure_policy.hpp>
#include <courier/framework/group.hpp>
#include <courier/framework/mailbox_limit.hpp>
#include <courier/framework/node_stats.hpp>
#include <courier/framework/placement.hpp>
#include <courier/framework/registry_options.hpp>
#include <courier/framework/system_messages.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace courier {

namespace detail {
class NodeCore;
struct NodeAccess;
/// Makes a node whose actors and timers a test steps by hand (node_access.hpp).
struct SteppedByHand {};
}  // namespace detail

struct NodeOptions {
    /// Unique on the host; empty: "<program>-<pid>".
    std::string name;
    /// How many CPUs the node may use at once; 0: what the system allows the process
    /// (courier/cpu_budget.hpp: its affinity, as `taskset` sets it, and its cgroup's
    /// quota, as a container's CPU limit sets it). It sizes the threads and the spinning
    /// below. With fewer than 2, the workers share one CPU with the reactor, and a worker
    /// that spins would keep the reactor, holding the next frame, off it until the
    /// kernel's time slice ends (milliseconds): the node runs one worker, which spins
    /// only for links polled in memory (shm:) and gives the CPU up as it does. Set it
    /// when the system's figure is wrong for the node (several nodes share the CPUs).
    double cpus = 0;
    /// Threads that run actors; 0: 2, or 1 when the node has fewer than 2 CPUs.
    std::size_t threads = 0;
    /// How long an idle worker polls for work (and one of them the links) before it
    /// sleeps. Waking a sleeping thread costs tens of microseconds on a VM (its core
    /// halts), so a spin longer than the gaps between messages keeps hand-offs fast and
    /// cross-process round trips off the reactor; an idle node sleeps after it. 0: no
    /// spinning at all (less CPU, slower hand-offs). On fewer than 2 CPUs: see `cpus`.
    std::chrono::microseconds worker_spin{30};
    /// SIGTERM and SIGINT stop the node cleanly (see "Stopping" in docs/failures.md):
    /// one log line; no new links; the letters already queued are handled (up to
    /// drain_timeout); every actor's on_stop runs and its name is unregistered; the links
    /// close; wait() returns (and if no thread waits in wait(), the process exits with 0).
    /// A second signal (200 ms or more after the first) ends the process at once (exit
    /// status 128 + the signal). One handler serves every node of the process that has
    /// this on; the previous dispositions come back when the last such node goes. An
    /// ignored signal (SIG_IGN) stays ignored. Turn it off when the application handles
    /// these signals itself.
    bool handle_signals = true;
    /// When the node stops (its destructor, a signal), how long its actors may take to
    /// handle the letters already in their mailboxes; what is left then comes back to
    /// the senders as dead letters (`stopped`).
    std::chrono::milliseconds drain_timeout{5000};
    /// What an actor does when its handler throws, unless it chose for itself
    /// (Actor::failure_policy): restart it, by default. docs/failures.md, "An actor's
    /// handler throws".
    FailurePolicy actor_failure = FailurePolicy::restart;
    /// How often an actor may restart before it escalates (Actor::restart_limit).
    RestartLimit actor_restart_limit;
    /// How much an actor's mailbox holds, and what a letter that finds it full does,
    /// unless the actor chose for itself (Actor::mailbox_limit). docs/flow_control.md.
    MailboxLimit mailbox_limit;
    /// How long Node::send and Node::request, from a thread outside the actors, wait for
    /// room in a full mailbox (Overflow::block), or for credit on a link to another node,
    /// before they fail with `mailbox_full`.
    std::chrono::milliseconds send_timeout{5000};
    /// How much each other node may send this one ahead of its actors (per link).
    CreditWindow credit_window;
    /// courier's log level (`trace`, `debug`, `info`, `warn`, `error`, `critical`, `off`)
    /// for every node of the process: courier logs through the logger `courier` of spdlog
    /// (courier/log.hpp). $COURIER_LOG_LEVEL and $SPDLOG_LEVEL win over it, so that an
    /// operator can change it without a rebuild. Empty: leave the level as it is.
    std::string log_level;
    /// Where the node serves Prometheus metrics over HTTP (GET /metrics): "host:port",
    /// e.g. "127.0.0.1:9464"; port 0 lets the kernel pick (Node::metrics_endpoint says
    /// which). Empty: no metrics server. It has no authentication: keep it on loopback
    /// unless a scraper elsewhere needs it. docs/observability.md.
    std::string metrics_address;
    /// Without a registry the node is alone: its actors reach only each other.
    bool use_registry = true;
    RegistryOptions registry;
    /// Transports, link rules and their settings. Empty: Config::from_environment()
    /// (`$COURIER_CONFIG`, `$COURIER_TRANSPORT`). Its [node] and [registry] tables
    /// override the fields above.
    std::optional<Config> config;
};

class Node {
  public:
    /// Starts the node: threads, listener, registration. Throws SetupError: name_taken
    /// (the name is taken), unknown_name (an invalid name), link_failed (the registry out
    /// of reach, nothing to listen on), bad_config (the config cannot be read or is
    /// wrong, or metrics_address is not "host:port"), os_error (the runtime directory
    /// cannot be made, or the metrics cannot be served on metrics_address: the port is in
    /// use, the host is no address of this machine).
    explicit Node(NodeOptions options = {});
    explicit Node(std::string name);
    /// Stops the node as a signal does (without the log line and the exit: see
    /// NodeOptions::handle_signals), then ends its threads and its registration.
    ~Node();
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    const std::string& name() const noexcept;

    /// Spawns an actor of type A under `name`, built from `args`. Throws SetupError:
    /// name_taken if any actor on the host has that name, unknown_name for an invalid
    /// name, link_failed when the registry cannot be reached.
    ///
    /// To restart it (FailurePolicy::restart), a new A is built from copies of `args` kept
    /// now, as std::thread keeps its arguments: pass std::ref(x) for an argument A keeps a
    /// reference to. An A that cannot be built from const copies (a move-only argument, a
    /// non-const reference parameter) cannot restart: a failure escalates instead.
    template <std::derived_from<Actor> A, class... Args>
    void spawn(std::string name, Args&&... args) {
        auto again = detail::factory_of<A, Args...>(args...);  // before A may take them
        adopt(std::move(name), std::make_unique<A>(std::forward<Args>(args)...), std::move(again));
    }
    /// Spawns an actor whose handlers `setup(self)` registers. A restart runs a copy of
    /// `setup` on a new actor.
    void spawn(std::string name, std::function<void(Actor&)> setup);

    /// Starts a program as a child process (ChildProcess::start) and links it to this
    /// node. The link's transport is chosen like any other (choose() in config.hpp, with
    /// the child named options.node): when it is one that links children (pipe:), the
    /// child inherits its end and its node takes it at start (the COURIER_PARENT*
    /// environment variables), so the two nodes reach each other's actors over it even if
    /// neither listens on anything. Otherwise the child links through the registry like
    /// any node. Throws what ChildProcess::start throws.
    ChildProcess spawn_process(ProcessOptions options);

    /// Starts a program on another host (or this one), through that host's courierd,
    /// which must listen for hosts (`registry.listen`) and offer the program in its config.
    /// Blocks up to placement.timeout: a link of its own to that courierd, one request,
    /// then the link closes. Errors: unknown_name (no such host is up), link_failed (its
    /// courierd cannot be reached, or refused the link: another cookie), refused (its
    /// config offers no such program, or not with extra arguments), os_error (it could
    /// not start it), timeout.
    Expected<PlacedProcess, Error> place(const Placement& placement);
    /// Asks the host of `process` to end it (SIGTERM, or SIGKILL); as place(). refused:
    /// that host placed no such process, or it has ended.
    Expected<void, Error> stop_placed(const PlacedProcess& process,
                                      StopSignal how = StopSignal::terminate,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

    /// Offers actors of `kind` to spawn_on, from any node of this host or, over links that
    /// proved the cookie, of another: an actor of this node named `courier.offer.<kind>`
    /// takes the requests, makes each new actor's setup with `make` and spawns it here.
    /// Throws SetupError as spawn does (name_taken: a node of this host offers `kind`), and
    /// std::invalid_argument for an empty `make`.
    void offer(std::string kind, OfferedKind make);
    /// Starts an actor of `placement.kind` named `placement.name` in the node of
    /// `placement.host` that offers that kind. Blocks up to placement.timeout. Errors:
    /// unknown_name (the host is not up, no node of it offers the kind, or no link to that
    /// node can be made: another cookie, say), name_taken, refused (the kind refused the
    /// arguments, or bound_to is no actor of this host), link_failed, timeout.
    Expected<PlacedActor, Error> spawn_on(const ActorPlacement& placement);
    /// Stops an actor that spawn_on started, through the node that started it. refused:
    /// that node did not start it, or it has stopped.
    Expected<void, Error> stop_placed(const PlacedActor& actor,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

    /// Stops the named actor of this node after the letter it is handling.
    void stop(std::string_view actor);

    /// Sends from outside any actor (anonymous sender: a dead letter is only counted and
    /// logged). To a full mailbox of this node (Overflow::block) it waits for room, up to
    /// NodeOptions::send_timeout; the error says why a letter was not delivered here
    /// (`mailbox_full`, `unknown_name`, ...). From inside an actor's turn it never waits.
    template <Message M>
    Expected<void, Error> send(std::string_view to, M message) {
        return post(detail::make_letter(std::move(message), std::string(), std::string(to)));
    }
    /// Sends from outside any actor to a member of the group `to.name` chosen by
    /// `to.pick`, or to each (Pick::all), as send() to a name does; a group with no
    /// members is an error (unknown_name).
    template <Message M>
    Expected<void, Error> send(const GroupTarget& to, M message);
    /// The members of `group` now, as Actor::members.
    Expected<std::vector<GroupMember>, Error> members(std::string_view group);

    /// The mailboxes of this node's actors: what they hold, held, and what their limit did.
    std::vector<MailboxStats> mailboxes() const;

    /// Sends a request from outside any actor and waits for the reply or an error.
    template <Message R, Message M>
    Expected<R, Error> request(std::string_view to, M message, std::chrono::milliseconds timeout);

    /// Waits until an actor named `name` exists on the host (or `timeout` passes).
    bool wait_for(std::string_view name, std::chrono::milliseconds timeout);

    /// Asks `wait()` to return; safe from any thread, including handlers.
    void shutdown() noexcept;
    /// Blocks until shutdown() is called, or until a signal has stopped the node
    /// (NodeOptions::handle_signals): then the node is stopped already, and ending the
    /// process is the caller's (returning from main() exits 0).
    void wait();

    NodeStats stats() const noexcept;
    /// The node's open links to other nodes.
    std::vector<LinkInfo> links() const;
    /// The endpoints other nodes can reach this node on, one per transport it listens on.
    std::vector<std::string> endpoints() const;
    /// Where the node serves its metrics, "host:port" with the port it bound (the one
    /// the kernel picked for port 0); empty without NodeOptions::metrics_address. (Once
    /// the node stops, nothing answers there any more.)
    std::string metrics_endpoint() const;

  private:
    Node(NodeOptions options, detail::SteppedByHand);
    std::vector<std::string> pick(const GroupTarget& to, Error& why);
    void adopt(std::string name, std::unique_ptr<Actor> actor, detail::ActorFactory again);
    /// Routes a letter to its recipient, here or on another node (see send()).
    Expected<void, Error> post(detail::Letter letter);
    detail::Letter await_reply(detail::Letter request, std::chrono::milliseconds timeout);

    friend class Actor;
    friend struct detail::NodeAccess;  // framework/src/node_access.hpp: tests and tools
    std::unique_ptr<detail::NodeCore> core_;
};

template <Message M>
Expected<void, Error> Node::send(const GroupTarget& to, M message) {
    Error why;
    const auto members = pick(to, why);
    if (members.empty()) return Unexpected{std::move(why)};
    if constexpr (std::is_copy_constructible_v<M>) {
        for (std::size_t i = 0; i + 1 < members.size(); ++i)
            if (auto sent = send(members[i], M(message)); !sent) return sent;
    } else if (members.size() > 1) {
        return Unexpected{Error{ErrorCode::unsupported,
                                "a message that cannot be copied cannot go to every member"}};
    }
    return send(members.back(), std::move(message));
}

template <Message R, Message M>
Expected<R, Error> Node::request(std::string_view to, M message,
                                 std::chrono::milliseconds timeout) {
    std::string target(to);
    detail::Letter answer =
        await_reply(detail::make_letter(std::move(message), std::string(), target), timeout);
    return detail::reply_to_result<R>(answer, target, timeout);
}

}  // namespace courier
