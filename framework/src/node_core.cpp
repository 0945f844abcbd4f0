#include "node_core.hpp"

#include "metrics_text.hpp"
#include "stop_signals.hpp"
#include "thread_sizing.hpp"

#include <courier/framework/group.hpp>
#include <courier/framework/runtime_dir.hpp>
#include <courier/framework/system_messages.hpp>
#include <courier/log.hpp>

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <system_error>

namespace courier::detail {

namespace {

std::string default_node_name() {
    return std::string(program_invocation_short_name) + "-" + std::to_string(::getpid());
}

/// The config a node runs with: its options' own, else the environment's. A config that
/// cannot be read or is wrong is a setup error of the node.
Config config_of(const NodeOptions& options, const std::string& node) {
    if (options.config) return *options.config;
    try {
        return Config::from_environment();
    } catch (const ConfigError& e) {
        throw SetupError(ErrorCode::bad_config, "node '" + node + "': " + e.what());
    }
}

}  // namespace

// ---- Life ------------------------------------------------------------------------------

NodeCore::NodeCore(Node& owner, NodeOptions options, bool by_hand)
    : owner_(owner), options_(std::move(options)), by_hand_(by_hand) {
    name_ = options_.name.empty() ? default_node_name() : options_.name;
    config_ = config_of(options_, name_);
    if (config_.node.cpus) options_.cpus = *config_.node.cpus;
    if (config_.node.threads) options_.threads = *config_.node.threads;
    if (config_.node.worker_spin) options_.worker_spin = *config_.node.worker_spin;
    if (config_.node.runtime_dir) options_.registry.runtime_dir = *config_.node.runtime_dir;
    if (config_.node.handle_signals) options_.handle_signals = *config_.node.handle_signals;
    if (config_.node.drain_timeout) options_.drain_timeout = *config_.node.drain_timeout;
    if (config_.node.mailbox_letters)
        options_.mailbox_limit.letters = *config_.node.mailbox_letters;
    if (config_.node.mailbox_bytes) options_.mailbox_limit.bytes = *config_.node.mailbox_bytes;
    if (config_.node.mailbox_overflow)
        options_.mailbox_limit.overflow = *config_.node.mailbox_overflow;
    if (config_.node.send_timeout) options_.send_timeout = *config_.node.send_timeout;
    if (config_.node.credit_letters) options_.credit_window.letters = *config_.node.credit_letters;
    if (config_.node.credit_bytes) options_.credit_window.bytes = *config_.node.credit_bytes;
    if (config_.node.actor_failure) options_.actor_failure = *config_.node.actor_failure;
    if (config_.node.actor_max_restarts)
        options_.actor_restart_limit.restarts = *config_.node.actor_max_restarts;
    if (config_.node.actor_restart_window)
        options_.actor_restart_limit.within = *config_.node.actor_restart_window;
    if (config_.node.metrics_address) options_.metrics_address = *config_.node.metrics_address;
    if (config_.registry.autostart) options_.registry.autostart = *config_.registry.autostart;
    if (config_.registry.idle_exit) options_.registry.idle_exit = *config_.registry.idle_exit;
    if (config_.registry.timeout) options_.registry.timeout = *config_.registry.timeout;
    if (config_.node.log_level) options_.log_level = *config_.node.log_level;
    if (!options_.log_level.empty() && !set_default_log_level(options_.log_level))
        throw SetupError(ErrorCode::bad_config, "node '" + name_ + "': unknown log level '" +
                                                    options_.log_level +
                                                    "' (trace, debug, info, warn, error, "
                                                    "critical or off)");
    if (!is_valid_name(name_) || name_.find('@') != std::string::npos)
        throw SetupError(
            ErrorCode::unknown_name,
            "invalid node name '" + name_ + "' (1-255 printable ASCII characters, no '@')");
    // The framework's own message types must be known before the first frame arrives.
    (void)type_id_of<DeadLetter>();
    (void)type_id_of<Failure>();
    (void)type_id_of<Down>();
    (void)type_id_of<ChildFailed>();
    (void)type_id_of<PingRequest>();
    (void)type_id_of<Hello>();
    (void)type_id_of<Heartbeat>();
    // A peer that goes away must surface as a link error, not kill the process.
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
        std::signal(SIGPIPE, SIG_IGN);
}

void NodeCore::start() {
    const auto sizing = ThreadSizing::of(options_);
    // Without the registry a node has no links: nothing for idle workers to poll.
    const bool polled = options_.use_registry && !by_hand_;
    try {
        // First: a polling worker may use it at once. A worker sharing its CPU with the
        // reactor waits for the links itself (Scheduler::lead).
        reactor_ = std::make_unique<Reactor>(
            by_hand_ ? Reactor::Timers::by_hand : Reactor::Timers::on_thread,
            /*worker_waits=*/polled && sizing.yielding);
    } catch (const std::system_error& e) {
        throw SetupError(ErrorCode::os_error, "node '" + name_ + "': " + e.what());
    }
    dead_letter_log_ = std::make_unique<DeadLetterLog>(name_, *reactor_);
    // Scheduler(0): stepped by hand; a node always has at least one worker otherwise.
    log().debug("node '{}': {} CPU(s): {} worker(s), spinning {} us", name_, sizing.cpus,
                sizing.threads, sizing.spin.count());
    scheduler_ = std::make_unique<Scheduler>(by_hand_ ? 0 : sizing.threads, sizing.spin,
                                             polled ? static_cast<IdlePoll*>(&peers_) : nullptr,
                                             sizing.yielding);
    // A node stepped by hand has no threads to stop it with.
    if (options_.handle_signals && !by_hand_) {
        try {
            StopSignals::enlist(*this);
        } catch (const std::system_error& e) {
            throw SetupError(ErrorCode::os_error, "node '" + name_ + "': " + e.what());
        }
        enlisted_ = true;
    }
    // Before the links: the parts it reads (counters, actors, peers, requests) exist from
    // the constructor, and a node without the registry has metrics too.
    if (!options_.metrics_address.empty())
        metrics_ = std::make_unique<MetricsServer>(options_.metrics_address, name_, [this] {
            return metrics_text(metrics_snapshot(*this));
        });
    if (!options_.use_registry) return;

    try {
        peers_.listen();
    } catch (const std::system_error& e) {  // the runtime directory
        throw SetupError(ErrorCode::os_error, "node '" + name_ + "': " + e.what());
    }
    peers_.adopt_parent_link();  // before registering: once our names are visible, the link is up
    try {
        registry_ = std::make_unique<RegistryClient>(options_.registry);
    } catch (const RegistryError& e) {
        throw SetupError(ErrorCode::link_failed, std::string("node '") + name_ +
                                                     "' cannot reach the registry: " + e.what());
    }
    registry_->on_name_down(
        [this](const registry::NameDown& down) { monitors_.on_name_down(down); });
    registry_->on_name_up([this](const registry::NameUp& up) {
        peers_.name_up(up.name);
        monitors_.on_name_up(up);
    });
    registry_->on_group_change(
        [this](const registry::GroupChange& change) { groups_.on_change(change); });
    // A tool's question through courierd: answered off the reader thread, which brings
    // the answer to answer_inspection.
    registry_->on_inspect([this](const registry::Inspect& question) {
        reactor_->after(std::chrono::milliseconds{0}, [this, ask = question.ask] {
            try {
                (void)registry_->answer_inspection(ask, link_list());
            } catch (const RegistryError& e) {
                log().debug("node '{}': cannot answer an inspection: {}", name_, e.what());
            }
        });
    });
    registry_->on_disconnect([this](const std::string& reason) {
        peers_.registry_lost();
        log().error("node '{}': lost the registry: {}; connecting again", name_, reason);
    });
    // Off the registry's reader thread, which brings the answers to these calls.
    registry_->on_reconnect(
        [this] { reactor_->after(std::chrono::milliseconds{0}, [this] { register_again(); }); });
    registry::Status status;
    try {
        status = registry_->register_node(name_, peers_.endpoints());
    } catch (const RegistryError& e) {
        throw SetupError(ErrorCode::link_failed,
                         "node '" + name_ + "' cannot register with the registry: " + e.what());
    }
    if (!status.ok) throw SetupError(ErrorCode::name_taken, status.error);
}

NodeCore::~NodeCore() {
    metrics_.reset();  // stopped already, unless the start failed: a scrape reads the parts below
    if (enlisted_) StopSignals::leave(*this);  // a node whose start failed
    // The reactor first: a timer of its may still talk to the registry (registering
    // again after courierd came back). Then the workers: an actor's last turn may still
    // run after the node stopped counting it (its letters bounce after its name went),
    // and look a name up. Then the registry's reader thread, whose callbacks only deliver
    // letters and post (never-run) timers.
    if (reactor_) reactor_->stop();
    if (scheduler_) scheduler_->stop();
    registry_.reset();
    dead_letter_log_.reset();  // no more dead letters; says the counts still unsaid
    peers_.close_listeners();
}

void NodeCore::shutdown() noexcept {
    {
        std::lock_guard lock(run_mutex_);
        shutdown_requested_ = true;
    }
    run_cv_.notify_all();
}

void NodeCore::wait() {
    StopSignals::Waiting waiting;  // then a signal's stop leaves ending the process to us
    std::unique_lock lock(run_mutex_);
    run_cv_.wait(lock, [&] { return shutdown_requested_; });
}

NodeStats NodeCore::stats() const noexcept {
    return NodeStats{counters_.delivered_local.load(),  counters_.sent_remote.load(),
                     counters_.received_remote.load(),  counters_.dead_letters.load(),
                     counters_.handler_failures.load(), counters_.bad_frames.load(),
                     counters_.registry_lookups.load(), counters_.restarts.load()};
}

std::string NodeCore::metrics_endpoint() const {
    return metrics_ ? metrics_->endpoint() : std::string();
}

LinkList NodeCore::link_list() {
    // The few names with the most: what `courier links` shows fits a line.
    constexpr std::size_t shown_targets = 5;
    return LinkList{name_,
                    ::getpid(),
                    peers_.links(),
                    stats(),
                    dead_letter_log_ ? dead_letter_log_->targets(shown_targets)
                                     : std::vector<DeadLetterCount>{},
                    actors_.mailbox_stats()};
}

// ---- Actors ----------------------------------------------------------------------------

void NodeCore::adopt(std::string name, std::unique_ptr<Actor> actor, ActorFactory again,
                     std::string parent) {
    if (!is_valid_name(name) || name.front() == '$' || name.find('@') != std::string::npos)
        throw SetupError(ErrorCode::unknown_name,
                         "invalid actor name '" + name +
                             "': use 1-255 printable ASCII characters, not starting with '$', "
                             "and no '@' (name@host names an actor on a host)");
    actor->name_ = name;
    actor->node_ = &owner_;
    auto cell =
        std::make_shared<ActorCell>(*this, std::move(actor), std::move(again), std::move(parent));
    cell->actor->cell_ = cell.get();
    cell->limit_mailbox(cell->actor->mailbox_limit_.value_or(options_.mailbox_limit));
    // The start letter goes in first, so on_start runs before any letter that arrives as
    // soon as the name is visible.
    Letter start;
    start.type = start_type;
    cell->deliver(std::move(start));  // held by us: it does not run yet
    if (!actors_.add(name, cell))
        throw SetupError(ErrorCode::name_taken,
                         "name '" + name + "' is already taken in node '" + name_ + "'");
    if (registry_) {
        registry::Status status;
        ErrorCode code = ErrorCode::name_taken;
        try {
            status = registry_->register_name(name);
        } catch (const RegistryError& e) {
            status = {false, "cannot register '" + name + "' with the registry: " + e.what()};
            code = ErrorCode::link_failed;  // out of reach, not a refusal
        }
        if (!status.ok) {
            actors_.remove(name, cell.get());
            cell->closed = true;
            cell->bounce_all();  // anything sent to it meanwhile (we still hold the cell)
            throw SetupError(code, status.error);
        }
    }
    bool stopping = false;
    {
        std::lock_guard lock(run_mutex_);
        ++live_cells_;
        stopping = stopping_;
    }
    cell->start();
    if (stopping) stop_actor(name);  // begin_stop() may have missed it
    monitors_.local_started(name);
}

void NodeCore::stop_actor(std::string_view name) {
    auto cell = actors_.find_cell(std::string(name));
    if (!cell) return;
    Letter stop;
    stop.type = stop_type;
    cell->deliver(std::move(stop));
    cell->unpark();  // parked on a full mailbox, it would see its stop only once that drains
}

void NodeCore::forget(const std::string& name, const ActorCell* cell, const std::string& why) {
    actors_.remove(name, cell);
    monitors_.watcher_stopped(name);
    monitors_.local_stopped(name, why);
    groups_.actor_stopped(name);
    if (registry_ && name.front() != '$') {
        try {
            registry_->unregister_name(name);
        } catch (const RegistryError& e) {
            log().warn("node '{}': could not unregister '{}': {}", name_, name, e.what());
        }
    }
    {
        std::lock_guard lock(run_mutex_);
        --live_cells_;
    }
    run_cv_.notify_all();
}

void NodeCore::register_again() {
    // A courierd that restarted knows nothing of us: the node, its names, its watches.
    try {
        auto status = registry_->register_node(name_, peers_.endpoints());
        if (!status.ok) {
            log().error("node '{}': the registry refuses it again: {}", name_, status.error);
            return;
        }
        std::size_t names = 0;
        for (const auto& name : actors_.actor_names()) {
            auto taken = registry_->register_name(name);
            if (taken.ok)
                ++names;
            else
                log().error("node '{}': cannot register '{}' again: {}", name_, name, taken.error);
        }
        monitors_.watch_again();
        groups_.register_again();
        log().info("node '{}': registered again with {} names", name_, names);
    } catch (const RegistryError& e) {
        // Broken again: the next reconnection calls us once more.
        log().warn("node '{}': registering again failed: {}", name_, e.what());
    }
}

bool NodeCore::wait_for(std::string_view name, std::chrono::milliseconds timeout) {
    if (actors_.find(std::string(name))) return true;
    if (!registry_) return false;
    return registry_->lookup(std::string(name), timeout).found;
}

// ---- What could not be delivered -------------------------------------------------------

namespace {
/// What the framework tells an actor of what it watches or sent: that it went down or
/// came up, that a group changed, that a letter of its own bounced.
bool is_notice(TypeId type) noexcept {
    return type == type_id_of<Down>() || type == type_id_of<Up>() ||
           type == type_id_of<MemberJoined>() || type == type_id_of<MemberLeft>() ||
           type == type_id_of<DeadLetter>();
}
}  // namespace

void NodeCore::dead_letter(const Letter& letter, ErrorCode code, const std::string& reason,
                           bool bounce) {
    // A notice that finds its actor gone (a monitor's Down after the watcher stopped) is
    // no letter lost: the one who asked for it is not there to act on it any more.
    if (is_notice(letter.type) && (code == ErrorCode::stopped || code == ErrorCode::unknown_name))
        return;
    ++counters_.dead_letters;
    counters_.dead_letters_by_code[static_cast<std::uint8_t>(code)].fetch_add(
        1, std::memory_order_relaxed);
    if (dead_letter_log_)
        dead_letter_log_->record(letter, code, reason);
    else  // not started: no timers yet
        log().warn("node '{}': dead letter: {} from '{}' to '{}': {}", name_,
                   type_name(letter.type), letter.sender.empty() ? "(anonymous)" : letter.sender,
                   letter.recipient, reason);
    // Never bounce a bounce, an answer, or a letter nobody can be told about.
    if (!bounce || letter.sender.empty() || letter.is_reply() ||
        letter.type == type_id_of<DeadLetter>())
        return;
    Letter back = make_letter(DeadLetter{letter.recipient, letter.type, code, reason},
                              std::string(), letter.sender);
    address_reply(back, &letter);
    router_.post(std::move(back));
}

}  // namespace courier::detail
