#include "failure_scenarios.hpp"

#include "failure_messages.hpp"
#include "failure_parties.hpp"
#include "peer_protocol.hpp"
#include "private_registry.hpp"

#include "registry/registry_client.hpp"

#include <courier/transports/heartbeat.hpp>
#include <courier/transports/transport.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace courier::failure_times {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto peer_start = 10s;  ///< for a peer to be up, or to report what it holds

double ms_between(std::uint64_t t0, std::uint64_t t1) {
    return t1 >= t0 ? static_cast<double>(t1 - t0) / 1e6 : 0.0;
}

/// Adds to `row` what `party` saw about `name` after `t0` (or that it saw nothing).
void record(Row& row, const std::string& transport, Events& events, const std::string& party,
            const std::string& name, std::uint64_t t0, const RunOptions& options) {
    auto event = events.take(party, name, options.deadline);
    row.samples[transport].push_back(event ? Sample{ms_between(t0, event->at_ns), event->outcome}
                                           : Sample{std::nullopt, {}});
}

/// A gate a handler waits at until the measuring thread opens it.
class Gate {
  public:
    void close() {
        std::lock_guard lock(mutex_);
        open_ = false;
    }
    void open() {
        std::lock_guard lock(mutex_);
        open_ = true;
        changed_.notify_all();
    }
    void pass(std::chrono::milliseconds within) {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, within, [this] { return open_; });
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    bool open_ = true;
};

/// Who starts a peer: the linked node, for a transport that links a node to its children
/// only (pipe:); else nobody, and the peer links through the registry like any node.
Node* spawner(const std::string& transport, Observers& observers) {
    const auto* entry = TransportRegistry::builtin().find(transport);
    return entry && entry->child_link && !entry->default_endpoint ? &observers.linked() : nullptr;
}

/// Throws unless `node`'s link to `peer_node` is over `transport`: figures put in the
/// wrong column would mislead.
void expect_link(const Node& node, const std::string& peer_node, const std::string& transport) {
    for (const auto& link : node.links())
        if (link.peer_node == peer_node) {
            if (link.transport == transport) return;
            throw std::runtime_error("the link to " + peer_node + " is over " + link.transport +
                                     ", not " + transport);
        }
    throw std::runtime_error("no link to " + peer_node);
}

/// Every party set on `replier`, the peer's actor: the registry watches its name (its
/// NameDown goes to `events`; the returned client keeps the watch), a request is pending at
/// it, and both observers monitor it.
std::unique_ptr<RegistryClient> watch_all(const std::string& replier, Peer& peer,
                                          Observers& observers, Events& events,
                                          const RunOptions& options) {
    RegistryOptions registry_options;
    registry_options.runtime_dir = options.runtime_dir;
    registry_options.autostart = false;
    auto name_watch = std::make_unique<RegistryClient>(registry_options);
    name_watch->on_name_down([&events](const registry::NameDown& down) {
        events.put({"registry", down.name, down.reason, bench::now_ns()});
    });
    if (!name_watch->watch(replier).found)
        throw std::runtime_error("the registry does not know " + replier);
    observers.ask(replier);
    peer.await("held", peer_start);
    observers.monitor(replier);
    return name_watch;
}

}  // namespace

void measure_actor_throws(const RunOptions& options, Results& results) {
    Row& row =
        results.row("actor throws (policy restart)",
                    "its next letter, queued behind, handled by the new object", "handled", true);
    NodeOptions node_options;
    node_options.name = "failure-times-throws";
    node_options.use_registry = false;
    node_options.handle_signals = false;
    Node node(node_options);
    Events events;
    Gate gate;
    std::atomic<std::uint64_t> thrown_at{0};
    node.spawn("thrower", [&](Actor& self) {
        self.restart_limit({1'000'000, std::chrono::milliseconds(1000)});
        self.handle([&gate](Hold&) { gate.pass(5s); });
        self.handle([&thrown_at](Boom&) {
            thrown_at = bench::now_ns();
            throw std::runtime_error("courier-failure-times: a measured failure");
        });
        self.handle([&events](Next&) {
            events.put({"thrower", "thrower", "handled", bench::now_ns()});
        });
    });
    for (int round = 0; round < options.rounds; ++round) {
        // Both letters queue behind Hold, so the time is the restart's, not a send's.
        gate.close();
        node.send("thrower", Hold{});
        node.send("thrower", Boom{});
        node.send("thrower", Next{});
        gate.open();
        auto event = events.take("thrower", "thrower", options.deadline);
        row.samples["in-process"].push_back(
            event ? Sample{ms_between(thrown_at.load(), event->at_ns), event->outcome}
                  : Sample{std::nullopt, {}});
    }
}

void measure_peer_failures(const std::string& transport, const RunOptions& options,
                           Results& results, std::vector<pid_t>& pids) {
    const std::string stops = "actor stops itself (its process lives)";
    const std::string killed = "process killed (SIGKILL)";
    const std::string stopped_code(to_string(ErrorCode::stopped));
    const std::string peer_down(to_string(ErrorCode::peer_down));
    const std::string stopped(to_string(DownReason::stopped));
    const std::string exited(to_string(DownReason::node_exited));
    const std::string linked = "`monitor()` in a node linked to it: `Down`, ";
    const std::string unlinked = "`monitor()` in a node with no link to it: `Down`, ";
    const std::string request = "pending request (`Node::request`) fails: ";
    Row* stop_rows[] = {
        &results.row(stops, request + "`" + stopped_code + "`", stopped_code),
        &results.row(stops, linked + stopped, stopped),
        &results.row(stops, unlinked + stopped, stopped),
    };
    Row* kill_rows[] = {
        &results.row(killed, request + "`" + peer_down + "`", peer_down),
        &results.row(killed, linked + exited, exited),
        &results.row(killed, unlinked + exited, exited),
        &results.row(killed,
                     "the registry: `NameDown` (" + std::string(registry::down_node_exited) +
                         "), lookups fail",
                     registry::down_node_exited),
    };
    const char* parties[] = {"request", "linked monitor", "unlinked monitor", "registry"};

    Events events;
    Observers observers(transport, options, events);
    for (int round = 0; round < options.rounds; ++round) {
        const std::string suffix = transport + "-" + std::to_string(round);
        const std::string stopper = "stopper-" + suffix, replier = "replier-" + suffix;
        const std::string peer_node = "failure-peer-" + suffix;
        Peer peer({"--transport", transport, "--node", peer_node, "--stopper", stopper, "--replier",
                   replier},
                  options, spawner(transport, observers));
        pids.push_back(peer.pid());
        peer.await("ready", peer_start);

        // The actor stops itself: t0 is its own, taken just before Actor::stop().
        observers.ask(stopper);
        peer.await("held", peer_start);
        expect_link(observers.linked(), peer_node, transport);
        observers.monitor(stopper);
        observers.linked().send(stopper, Quit{});
        const auto t0_stop = std::stoull(peer.await("stopping", peer_start).at("t0"));
        for (std::size_t i = 0; i < 3; ++i)
            record(*stop_rows[i], transport, events, parties[i], stopper, t0_stop, options);

        // The process is killed: t0 just before kill(2).
        const auto name_watch = watch_all(replier, peer, observers, events, options);
        const auto t0_kill = bench::now_ns();
        ::kill(peer.pid(), SIGKILL);
        for (std::size_t i = 0; i < 4; ++i)
            record(*kill_rows[i], transport, events, parties[i], replier, t0_kill, options);
        peer.reap(5s);
    }
}

void measure_peer_hangs(const std::string& transport, const RunOptions& options, Results& results,
                        std::vector<pid_t>& pids) {
    const auto* entry = TransportRegistry::builtin().find(transport);
    const bool heartbeat = entry && entry->find_setting(heartbeat_interval_setting.name);
    const std::string hung = "process hung (SIGSTOP)";
    const std::string peer_down(to_string(ErrorCode::peer_down));
    const std::string broken(to_string(DownReason::link_broken));
    Row* rows[] = {
        &results.row(hung, "pending request (`Node::request`) fails: `" + peer_down + "`",
                     peer_down),
        &results.row(hung, "`monitor()` in a node linked to it: `Down`, " + broken, broken),
        &results.row(hung, "`monitor()` in a node with no link to it", nothing_expected),
        &results.row(hung, "the registry", nothing_expected),
    };
    if (!heartbeat)
        for (Row* row : rows) row->expected_on[transport] = nothing_expected;
    const char* parties[] = {"request", "linked monitor", "unlinked monitor", "registry"};

    Events events;
    Observers observers(transport, options, events);
    const int rounds = heartbeat ? options.rounds : 1;
    for (int round = 0; round < rounds; ++round) {
        const std::string suffix = transport + "-hung-" + std::to_string(round);
        const std::string replier = "replier-" + suffix;
        Peer peer(
            {"--transport", transport, "--node", "failure-peer-" + suffix, "--replier", replier},
            options, spawner(transport, observers));
        pids.push_back(peer.pid());
        peer.await("ready", peer_start);
        const auto name_watch = watch_all(replier, peer, observers, events, options);
        expect_link(observers.linked(), "failure-peer-" + suffix, transport);

        const auto t0 = bench::now_ns();
        ::kill(peer.pid(), SIGSTOP);
        // Those the heartbeat tells, up to the deadline; then the others, which must have
        // said nothing by then (or within hung_watch, where nobody is told).
        for (std::size_t i = 0; i < 4; ++i) {
            const bool waits = rows[i]->expected_for(transport) != nothing_expected;
            RunOptions watch = options;
            watch.deadline = waits       ? options.deadline
                             : heartbeat ? std::chrono::milliseconds(0)
                                         : hung_watch / 4;
            record(*rows[i], transport, events, parties[i], replier, t0, watch);
        }
        ::kill(peer.pid(), SIGCONT);
        ::kill(peer.pid(), SIGKILL);
        peer.reap(5s);
    }
}

void measure_registry_death(const std::string& transport, const RunOptions& options,
                            const bench::PrivateRegistry& courierd, Results& results,
                            std::vector<pid_t>& pids) {
    Row& row_a = results.row(registry_dies,
                             "a new lookup finds node A's names (the measuring process)", "found");
    Row& row_b =
        results.row(registry_dies, "a new lookup finds node B's names (the peer)", "found");
    Traffic& traffic = results.traffic(transport);

    Events events;
    Observers observers(transport, options, events);
    const std::string echo = "echo-" + transport;
    const std::string peer_node = "failure-peer-" + transport;
    Peer peer({"--transport", transport, "--node", peer_node, "--echo", echo}, options,
              spawner(transport, observers));
    pids.push_back(peer.pid());
    peer.await("ready", peer_start);
    Node& node = observers.linked();
    if (!node.request<Echo>(echo, Echo{0}, 5s))
        throw std::runtime_error("no link to " + echo + " before the registry was killed");
    expect_link(node, peer_node, transport);

    // Requests, one a millisecond, on the open link throughout.
    std::atomic<bool> done{false}, outage{false};
    std::thread traffic_thread([&] {
        for (std::uint64_t n = 1; !done; ++n) {
            const auto next = Clock::now() + 1ms;
            auto answer = node.request<Echo>(echo, Echo{n}, 2s);
            ++traffic.sent;
            if (!answer || answer->n != n)
                ++traffic.lost;
            else if (outage)
                ++traffic.during_outage;
            std::this_thread::sleep_until(next);
        }
    });

    RegistryOptions lookups;
    lookups.runtime_dir = options.runtime_dir;
    lookups.autostart = false;  // the nodes start it again, not the one who looks
    lookups.timeout = 200ms;
    const std::pair<Row*, std::pair<std::string, pid_t>> wanted[] = {
        {&row_a, {observers.linked_watcher(), ::getpid()}},
        {&row_b, {echo, peer.pid()}},
    };
    std::string failure;
    try {  // the traffic thread must be joined, whatever happens
        for (int round = 0; round < options.rounds && failure.empty(); ++round) {
            // Courierds the nodes started at once after the last kill, which lost the
            // daemon lock, are on their way out: slow to go in a sanitized build.
            auto daemons = courierd.serving();
            for (const auto settled = Clock::now() + options.deadline;
                 daemons.size() > 1 && Clock::now() < settled; daemons = courierd.serving())
                std::this_thread::sleep_for(10ms);
            if (daemons.size() != 1) {
                failure = std::to_string(daemons.size()) +
                          " courierd processes serve the runtime "
                          "directory, not one";
                break;
            }
            outage = true;
            const auto t0 = bench::now_ns();
            ::kill(daemons.front(), SIGKILL);
            std::optional<std::uint64_t> found[2];
            const auto deadline = Clock::now() + options.deadline;
            while ((!found[0] || !found[1]) && Clock::now() < deadline) {
                try {
                    RegistryClient client(lookups);
                    for (std::size_t i = 0; i < 2; ++i) {
                        if (found[i]) continue;
                        const auto where = client.lookup(wanted[i].second.first);
                        if (where.found && where.pid == wanted[i].second.second)
                            found[i] = bench::now_ns();
                    }
                } catch (const RegistryError&) {
                    // not back yet
                }
                std::this_thread::sleep_for(1ms);
            }
            outage = false;
            for (std::size_t i = 0; i < 2; ++i)
                wanted[i].first->samples[transport].push_back(
                    found[i] ? Sample{ms_between(t0, *found[i]), "found"}
                             : Sample{std::nullopt, {}});
            // Each node tries again every 100 ms: a few periods let all of them register with
            // the new courierd before it is killed in turn.
            std::this_thread::sleep_for(400ms);
        }
    } catch (const std::exception& e) {
        failure = e.what();
    }
    done = true;
    traffic_thread.join();
    if (!peer.finish(5s) && failure.empty()) failure = "the peer did not exit cleanly";
    if (!failure.empty()) throw std::runtime_error(failure);
}

}  // namespace courier::failure_times
