// taskfarm: the main demo. A master that starts and supervises N worker processes
// (`taskfarm-worker`), hands them tasks through a courier::Pool (counting the primes in
// ranges of numbers), counts each result once even when workers die, and checks the total
// against a sieve of its own. Workers started by hand from another terminal join in.
// On a terminal it draws a progress bar; otherwise it prints a line a second. SIGUSR1
// ends it early: no more tasks are handed out, and the check covers those that were.
// See samples/taskfarm/README.md.
#include "messages.hpp"

#include <CLI/CLI.hpp>
#include <courier/version.hpp>

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Settings {
    std::uint64_t workers = 4;
    std::uint64_t tasks = 2000;
    std::uint64_t span = 5000;
    std::uint64_t window = 64;
    std::uint64_t attempt_timeout_ms = 10000;
    std::uint64_t backoff_max_ms = 500;
    std::string worker_program;
};

/// Asks the master to hand out no more tasks (main's thread sends it on SIGUSR1).
struct Finish {
    template <class A>
    void serialize(A&) {}
};
COURIER_MESSAGE(Finish, "taskfarm.Finish");

/// What the master actor has learned, read by main's thread for the progress and summary.
struct Tally {
    explicit Tally(std::uint64_t all) : tasks(all) {}
    std::atomic<std::uint64_t> tasks;  ///< the farm's tasks: fewer once told to finish
    std::atomic<std::uint64_t> done{0};
    std::atomic<bool> finished{false};
    std::mutex mutex;  // guards the rest
    std::uint64_t primes = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t resubmitted = 0;
    std::map<std::string, std::uint64_t> per_worker;
};

/// The master actor: keeps `window` tasks in the pool, and counts each answer once.
class Master : public std::enable_shared_from_this<Master> {
  public:
    Master(courier::Actor& self, const Settings& s, Tally& tally)
        : self_(self), s_(s), tally_(tally), counted_(s.tasks, false) {}

    void start() {
        while (next_ < std::min(s_.window, s_.tasks)) submit(next_++);
        self_.handle([master = shared_from_this()](Finish&) { master->finish(); });
    }

  private:
    /// The tasks handed out so far become the farm's: the rest are never sent.
    void finish() {
        if (next_ == tally_.tasks) return;
        std::cout << "taskfarm: told to finish: no tasks after the " << next_ << " handed out"
                  << std::endl;
        tally_.tasks = next_;
        if (tally_.done == next_) done();
    }

    void done() {
        tally_.finished = true;
        self_.node().shutdown();  // main's thread prints the summary
    }

    void submit(std::uint64_t id) {
        const taskfarm::Count task{id, id * s_.span, (id + 1) * s_.span};
        self_.request<taskfarm::Counted>(
            taskfarm::pool_name, task, 600s,
            [master = shared_from_this(), id](auto result) { master->answered(id, result); });
    }

    void answered(std::uint64_t id, courier::Expected<taskfarm::Counted, courier::Error>& result) {
        if (!result) {  // the pool gave up on it (every attempt failed): again
            std::cerr << "taskfarm: task " << id << " failed (" << result.error().message
                      << "); submitting it again\n";
            std::lock_guard lock(tally_.mutex);
            ++tally_.resubmitted;
            submit(id);
            return;
        }
        {
            std::lock_guard lock(tally_.mutex);
            if (result->id >= s_.tasks || counted_[result->id]) {
                ++tally_.duplicates;  // the pool answers each request once: stays 0
                return;
            }
            counted_[result->id] = true;
            tally_.primes += result->primes;
            ++tally_.per_worker[result->worker];
        }
        if (tally_.done.fetch_add(1) + 1 == tally_.tasks) return done();
        if (next_ < tally_.tasks) submit(next_++);
    }

    courier::Actor& self_;
    const Settings& s_;
    Tally& tally_;
    std::vector<bool> counted_;
    std::uint64_t next_ = 0;
};

/// The number of primes below `n`, by the sieve of Eratosthenes: what the farm must find.
std::uint64_t primes_below(std::uint64_t n) {
    if (n < 3) return 0;
    std::vector<bool> composite(n, false);
    std::uint64_t count = 0;
    for (std::uint64_t i = 2; i < n; ++i) {
        if (composite[i]) continue;
        ++count;
        for (std::uint64_t j = i * i; j < n; j += i) composite[j] = true;
    }
    return count;
}

std::filesystem::path next_to_this_program(const char* name) {
    return std::filesystem::read_symlink("/proc/self/exe").parent_path() / name;
}

courier::SupervisorSpec workers_spec(const Settings& s) {
    courier::SupervisorSpec spec;
    spec.strategy = courier::RestartStrategy::one_for_one;
    // A farm keeps its workers whatever happens to them: no intensity that gives up.
    spec.max_restarts = 1'000'000;
    spec.period = 1s;
    for (std::uint64_t i = 0; i < s.workers; ++i) {
        const std::string name = "taskfarm.worker-" + std::to_string(i);
        courier::ChildSpec child;
        child.id = name;
        child.process.argv = {s.worker_program, "--name", name};
        child.names = {name};
        child.start_timeout = 10s;
        child.backoff_initial = 10ms;
        child.backoff_max = std::chrono::milliseconds(s.backoff_max_ms);
        spec.children.push_back(std::move(child));
    }
    return spec;
}

struct Snapshot {
    std::uint64_t active = 0;    ///< members of the pool's group now
    std::uint64_t restarts = 0;  ///< of the supervised workers
    std::uint64_t retried = 0;   ///< attempts the pool made again on another worker
};

Snapshot look(courier::Node& node) {
    Snapshot now;
    if (auto stats =
            node.request<courier::PoolStats>(taskfarm::pool_name, courier::PoolQuery{}, 2s)) {
        now.active = stats->members.size();
        now.retried = stats->retried;
    }
    if (auto children =
            node.request<courier::Children>("taskfarm.supervisor", courier::WhichChildren{}, 2s))
        for (const auto& child : children->children) now.restarts += child.restarts;
    return now;
}

void show_progress(courier::Node& node, Tally& tally, Clock::time_point start, bool terminal) {
    auto last_line = Clock::now();
    while (!tally.finished) {
        std::this_thread::sleep_for(terminal ? 200ms : 100ms);
        if (tally.finished) break;
        if (!terminal && Clock::now() - last_line < 1s) continue;
        last_line = Clock::now();
        const auto done = tally.done.load();
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        const auto now = look(node);
        std::ostringstream line;
        line << done << "/" << tally.tasks << " tasks, " << std::fixed << std::setprecision(0)
             << (seconds > 0 ? static_cast<double>(done) / seconds : 0.0) << " tasks/s, "
             << now.active << " workers active, " << now.restarts << " restarts";
        if (terminal) {
            constexpr std::size_t width = 30;
            const std::size_t filled = width * done / std::max<std::uint64_t>(tally.tasks, 1);
            std::cout << "\r[" << std::string(filled, '#') << std::string(width - filled, '.')
                      << "] " << line.str() << "   " << std::flush;
        } else {
            std::cout << "taskfarm: " << line.str() << std::endl;
        }
    }
    if (terminal) std::cout << "\n";
}

int summarize(courier::Node& node, const Settings& s, Tally& tally, double seconds) {
    const auto now = look(node);
    const std::uint64_t tasks = tally.tasks;
    const std::uint64_t expected = primes_below(tasks * s.span);
    std::lock_guard lock(tally.mutex);
    const bool ok = tally.done == tasks && tally.primes == expected && tally.duplicates == 0;
    std::cout << "taskfarm: " << tally.done << " tasks in " << std::fixed << std::setprecision(2)
              << seconds << " s (" << std::setprecision(0)
              << static_cast<double>(tally.done) / std::max(seconds, 1e-9) << " tasks/s), "
              << s.workers << " supervised workers, " << now.restarts << " restarts, "
              << now.retried << " attempts retried by the pool, " << tally.resubmitted
              << " tasks submitted again\n";
    std::cout << "taskfarm: tasks per worker:";
    for (const auto& [worker, count] : tally.per_worker) std::cout << " " << worker << "=" << count;
    std::cout << "\ntaskfarm: links:";
    for (const auto& link : node.links())
        std::cout << " " << link.peer_node << "=" << link.transport;
    std::cout << "\ntaskfarm: primes below " << tasks * s.span << ": " << tally.primes
              << ", the sieve says " << expected << "; " << tally.duplicates
              << " results counted twice -> " << (ok ? "OK" : "FAILED") << std::endl;
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) try {
    CLI::App app{"courier sample: a task farm (master)"};
    app.set_version_flag("--version", COURIER_VERSION);
    Settings s;
    std::string config_file;
    app.add_option("--workers", s.workers, "worker processes to start and supervise")
        ->capture_default_str();
    app.add_option("--tasks", s.tasks, "tasks to run")->capture_default_str();
    app.add_option("--span", s.span, "numbers per task")->capture_default_str();
    app.add_option("--window", s.window, "tasks kept in the pool at once")->capture_default_str();
    app.add_option("--attempt-timeout-ms", s.attempt_timeout_ms,
                   "how long a worker may take over a task before it goes to another")
        ->capture_default_str();
    app.add_option("--backoff-max-ms", s.backoff_max_ms,
                   "the longest a worker that keeps dying waits before its restart")
        ->capture_default_str();
    app.add_option("--worker-program", s.worker_program,
                   "the worker (default: taskfarm-worker next to this program)");
    app.add_option("--config", config_file, "TOML config (default: $COURIER_CONFIG)");
    CLI11_PARSE(app, argc, argv);
    if (s.worker_program.empty()) s.worker_program = next_to_this_program("taskfarm-worker");

    // SIGUSR1 (finish early) is blocked before the node starts its threads, which inherit
    // the mask, and taken by a thread of its own. Workers start with an empty mask.
    sigset_t finish_signal;
    ::sigemptyset(&finish_signal);
    ::sigaddset(&finish_signal, SIGUSR1);
    ::pthread_sigmask(SIG_BLOCK, &finish_signal, nullptr);

    courier::NodeOptions options;
    options.name = "taskfarm";
    options.config = courier::Config::from_environment(config_file);
    courier::Node node(options);
    courier::PoolOptions pool;
    pool.policy = courier::PoolPolicy::least_in_flight;
    pool.max_in_flight = 2;  // one to work on, one on its way
    pool.attempt_timeout = std::chrono::milliseconds(s.attempt_timeout_ms);
    pool.max_attempts = 100;  // workers die here on purpose (the chaos test)
    node.spawn<courier::Pool<taskfarm::Count, taskfarm::Counted>>(taskfarm::pool_name,
                                                                  taskfarm::workers_group, pool);
    node.spawn<courier::Supervisor>("taskfarm.supervisor", workers_spec(s));

    Tally tally(s.tasks);
    const auto start = Clock::now();
    node.spawn("taskfarm.master", [&](courier::Actor& self) {
        std::make_shared<Master>(self, s, tally)->start();  // its requests' callbacks hold it
    });
    std::thread progress([&] { show_progress(node, tally, start, ::isatty(STDOUT_FILENO) != 0); });
    std::thread finisher([&] {
        int signo = 0;
        ::sigwait(&finish_signal, &signo);
        if (!tally.finished) (void)node.send("taskfarm.master", Finish{});
    });
    node.wait();  // the master's last answer, or a signal
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    tally.finished = true;
    progress.join();
    ::pthread_kill(finisher.native_handle(), SIGUSR1);  // its sigwait returns, if waiting
    finisher.join();
    if (tally.done != tally.tasks) {
        std::cout << "taskfarm: stopped after " << tally.done << " of " << tally.tasks << " tasks"
                  << std::endl;
        return 0;  // a signal stopped it: a clean stop
    }
    return summarize(node, s, tally, seconds);
} catch (const courier::ConfigError& e) {
    std::cerr << "taskfarm: " << e.what() << "\n";
    return 2;
} catch (const courier::SetupError& e) {
    std::cerr << "taskfarm: " << e.what() << "\n";
    return 2;
}
