#include <courier/framework/node.hpp>

#include "node_core.hpp"

#include <courier/framework/runtime_dir.hpp>
#include <courier/transports/transport.hpp>

#include <spdlog/spdlog.h>

#include <unistd.h>
#include <algorithm>
#include <csignal>

namespace courier {

// ---- Node: the public face -------------------------------------------------------------

Node::Node(NodeOptions options)
    : core_(std::make_unique<detail::NodeCore>(*this, std::move(options))) {
    core_->start();
}

Node::Node(std::string name)
    : Node([&] {
          NodeOptions options;
          options.name = std::move(name);
          return options;
      }()) {}

Node::~Node() {
    core_->stop_all();
}

const std::string& Node::name() const noexcept {
    return core_->name();
}

namespace detail {
/// An actor whose handlers a setup function registers when it starts.
struct FunctionActor final : Actor {
    explicit FunctionActor(std::function<void(Actor&)> f) : setup(std::move(f)) {}
    void on_start() override { setup(*this); }
    std::function<void(Actor&)> setup;
};
}  // namespace detail

void Node::spawn(std::string name, std::function<void(Actor&)> setup) {
    adopt(std::move(name), std::make_unique<detail::FunctionActor>(std::move(setup)));
}

void Node::adopt(std::string name, std::unique_ptr<Actor> actor) {
    core_->adopt(std::move(name), std::move(actor));
}

void Node::stop(std::string_view actor) {
    core_->stop_actor(actor);
}
void Node::post(detail::Letter letter) {
    core_->post(std::move(letter));
}
detail::Letter Node::await_reply(detail::Letter request, std::chrono::milliseconds timeout) {
    return core_->await_reply(std::move(request), timeout);
}
bool Node::wait_for(std::string_view name, std::chrono::milliseconds timeout) {
    return core_->wait_for(name, timeout);
}
void Node::shutdown() noexcept {
    core_->shutdown();
}
void Node::wait() {
    core_->wait();
}
NodeStats Node::stats() const noexcept {
    return core_->stats();
}
std::vector<LinkInfo> Node::links() const {
    return core_->links();
}
std::vector<std::string> Node::endpoints() const {
    return core_->endpoints();
}
ChildProcess Node::spawn_process(ProcessOptions options) {
    return core_->spawn_process(std::move(options));
}

namespace detail {

// ---- NodeCore: lifecycle ---------------------------------------------------------------

namespace {
constexpr const char* closed_by_peer = "closed by the peer";

std::string default_node_name() {
    return std::string(program_invocation_short_name) + "-" + std::to_string(::getpid());
}

/// Why a letter holding descriptors cannot take this link, and what would work.
std::string cannot_carry_fds(const Letter& letter, std::size_t count, const PeerLink& peer) {
    std::string capable;
    for (const auto& entry : TransportRegistry::builtin().entries())
        if (entry.capabilities.fd_passing) capable += (capable.empty() ? "" : ", ") + entry.scheme;
    return type_name(letter.type) + " holds " + std::to_string(count) +
           (count == 1 ? " file descriptor" : " file descriptors") + ", which the " +
           peer.transport + " link to node '" + peer.node +
           "' cannot carry; links that carry descriptors need a transport with fd passing (" +
           (capable.empty() ? std::string("none in this build") : capable) +
           "): declare them with fds = true in a [[links.rule]]";
}
}  // namespace

NodeCore::NodeCore(Node& owner, NodeOptions options) : owner_(owner), options_(std::move(options)) {
    name_ = options_.name.empty() ? default_node_name() : options_.name;
    config_ = options_.config ? *options_.config : Config::from_environment();
    if (config_.node.threads) options_.threads = *config_.node.threads;
    if (config_.node.worker_spin) options_.worker_spin = *config_.node.worker_spin;
    if (config_.node.runtime_dir) options_.registry.runtime_dir = *config_.node.runtime_dir;
    if (config_.registry.autostart) options_.registry.autostart = *config_.registry.autostart;
    if (config_.registry.idle_exit) options_.registry.idle_exit = *config_.registry.idle_exit;
    if (config_.registry.timeout) options_.registry.timeout = *config_.registry.timeout;
    if (!is_valid_name(name_))
        throw SetupError(ErrorCode::unknown_name, "invalid node name '" + name_ + "'");
    // The framework's own message types must be known before the first frame arrives.
    (void)type_id_of<DeadLetter>();
    (void)type_id_of<Failure>();
    (void)type_id_of<Down>();
    (void)type_id_of<Hello>();
    // A peer that goes away must surface as a link error, not kill the process.
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
        std::signal(SIGPIPE, SIG_IGN);
}

void NodeCore::start() {
    reactor_ = std::make_unique<Reactor>();  // first: a polling worker may use it at once
    // Without the registry a node has no links: nothing for idle workers to poll.
    scheduler_ =
        std::make_unique<Scheduler>(options_.threads, options_.worker_spin,
                                    options_.use_registry ? static_cast<IdlePoll*>(this) : nullptr);
    if (!options_.use_registry) return;

    listen_on_transports();
    adopt_parent_link();  // before registering: once our names are visible, the link is up
    // Answers `courier links`; reachable over any link, not registered.
    adopt(node_service_name, std::make_unique<FunctionActor>([this](Actor& self) {
              self.handle<LinksQuery>([this, &self](LinksQuery&) {
                  self.reply(LinkList{name_, links()});
              });
          }),
          /*internal=*/true);
    try {
        registry_ = std::make_unique<RegistryClient>(options_.registry);
    } catch (const RegistryError& e) {
        throw SetupError(ErrorCode::link_failed, std::string("node '") + name_ +
                                                     "' cannot reach the registry: " + e.what());
    }
    registry_->on_name_down([this](const registry::NameDown& down) { on_name_down(down); });
    registry_->on_disconnect([this](const std::string& reason) {
        spdlog::error("node '{}': lost the registry: {}", name_, reason);
    });
    auto status = registry_->register_node(name_, endpoints());
    if (!status.ok) throw SetupError(ErrorCode::name_taken, status.error);
}

void NodeCore::stop_all() {
    std::vector<std::shared_ptr<Mailbox>> boxes;
    {
        std::shared_lock lock(names_mutex_);
        for (auto& [name, box] : local_) boxes.push_back(box);
    }
    for (auto& box : boxes) {
        if (!dynamic_cast<ActorCell*>(box.get())) continue;
        Letter stop;
        stop.type = stop_type;
        box->deliver(std::move(stop));
    }
    std::unique_lock lock(run_mutex_);
    if (!run_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return live_cells_ == 0; }))
        spdlog::error("node '{}': {} actors did not stop within 10 s", name_, live_cells_);
}

NodeCore::~NodeCore() {
    registry_.reset();  // joins its reader thread: no more NameDown callbacks
    if (reactor_) reactor_->stop();
    if (scheduler_) scheduler_->stop();
    listeners_.clear();
}

void NodeCore::listen_on_transports() {
    // Listen on every transport this node may be asked to use: the override alone, or
    // the preference list and whatever the rules pin.
    std::vector<std::string> schemes;
    auto want = [&](const std::string& scheme) {
        if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end())
            schemes.push_back(scheme);
    };
    if (config_.override_transport) {
        want(*config_.override_transport);
    } else {
        for (const auto& scheme : config_.preference) want(scheme);
        for (const auto& rule : config_.rules) want(rule.transport);
    }
    EndpointHint hint{name_, static_cast<long>(::getpid()),
                      options_.registry.runtime_dir.empty() ? default_runtime_dir()
                                                            : options_.registry.runtime_dir};
    ensure_runtime_dir(hint.runtime_dir);
    std::string failures;
    for (const auto& scheme : schemes) {
        const auto* transport = TransportRegistry::builtin().find(scheme);
        if (!transport || !transport->default_endpoint) continue;
        try {
            // Through the registry, which adds fragmentation where the mechanism needs it.
            auto listener = TransportRegistry::builtin().listen(transport->default_endpoint(hint),
                                                                config_.settings(scheme).options());
            Listener& ref = *listener;
            reactor_->add(ref.poll_fd(), [this, &ref] { on_accept(ref); });
            listeners_.push_back(std::move(listener));
        } catch (const std::exception& e) {
            failures += "; " + scheme + ": " + e.what();
            spdlog::warn("node '{}': cannot listen on {}: {}", name_, scheme, e.what());
        }
    }
    // A node may listen on nothing when none of its transports listens (pipe:): it is
    // reached over the links it makes, such as those to the children it spawns.
    if (listeners_.empty() && !failures.empty())
        throw SetupError(ErrorCode::link_failed,
                         "node '" + name_ + "' cannot listen on any transport" + failures);
    if (config_.override_transport && !listeners_.empty() &&
        listeners_.front()->endpoint().scheme != schemes.front())
        throw SetupError(ErrorCode::link_failed, "node '" + name_ + "' cannot listen on " +
                                                     *config_.override_transport + failures);
}

std::vector<std::string> NodeCore::endpoints() const {
    std::vector<std::string> uris;
    for (const auto& listener : listeners_) uris.push_back(listener->endpoint().to_string());
    return uris;
}

std::vector<LinkInfo> NodeCore::links() {
    std::lock_guard lock(peers_mutex_);
    std::vector<LinkInfo> infos;
    for (const auto& peer : links_) {
        infos.push_back(LinkInfo{peer->node, peer->transport, peer->reason, peer->link->peer(),
                                 peer->initiated, peer->frames_sent.load(), peer->bytes_sent.load(),
                                 peer->frames_received.load(), peer->bytes_received.load(),
                                 peer->errors.load()});
    }
    return infos;
}

void NodeCore::shutdown() noexcept {
    {
        std::lock_guard lock(run_mutex_);
        shutdown_requested_ = true;
    }
    run_cv_.notify_all();
}

void NodeCore::wait() {
    std::unique_lock lock(run_mutex_);
    run_cv_.wait(lock, [&] { return shutdown_requested_; });
}

NodeStats NodeCore::stats() const noexcept {
    return NodeStats{stats_.delivered_local.load(),  stats_.sent_remote.load(),
                     stats_.received_remote.load(),  stats_.dead_letters.load(),
                     stats_.handler_failures.load(), stats_.bad_frames.load()};
}

// ---- Actors ----------------------------------------------------------------------------

void NodeCore::adopt(std::string name, std::unique_ptr<Actor> actor, bool internal) {
    if (!is_valid_name(name) || (name.front() == '$' && !internal))
        throw SetupError(ErrorCode::unknown_name,
                         "invalid actor name '" + name +
                             "': use 1-255 printable ASCII characters, not starting with '$'");
    actor->name_ = name;
    actor->node_ = &owner_;
    auto cell = std::make_shared<ActorCell>(*this, std::move(actor));
    cell->actor->cell_ = cell.get();
    // The start letter goes in first, so on_start runs before any letter that arrives as
    // soon as the name is visible.
    Letter start;
    start.type = start_type;
    cell->deliver(std::move(start));  // held by us: it does not run yet
    {
        std::unique_lock lock(names_mutex_);
        if (!local_.try_emplace(name, cell).second)
            throw SetupError(ErrorCode::name_taken,
                             "name '" + name + "' is already taken in node '" + name_ + "'");
    }
    if (registry_ && !internal) {
        registry::Status status;
        try {
            status = registry_->register_name(name);
        } catch (const RegistryError& e) {
            status = {false, e.what()};
        }
        if (!status.ok) {
            {
                std::unique_lock lock(names_mutex_);
                if (auto it = local_.find(name); it != local_.end()) erase_local(it);
            }
            cell->closed = true;
            cell->bounce_all();  // anything sent to it meanwhile (we still hold the cell)
            throw SetupError(ErrorCode::name_taken, status.error);
        }
    }
    {
        std::lock_guard lock(run_mutex_);
        ++live_cells_;
    }
    cell->start();
}

void NodeCore::stop_actor(std::string_view name) {
    auto box = find_local(std::string(name));
    if (!box || !dynamic_cast<ActorCell*>(box.get())) return;
    Letter stop;
    stop.type = stop_type;
    box->deliver(std::move(stop));
}

void NodeCore::forget(const std::string& name, const ActorCell* cell) {
    {
        std::unique_lock lock(names_mutex_);
        if (auto it = local_.find(name); it != local_.end() && it->second.get() == cell)
            erase_local(it);
    }
    if (registry_ && name.front() != '$') {
        try {
            registry_->unregister_name(name);
        } catch (const RegistryError& e) {
            spdlog::warn("node '{}': could not unregister '{}': {}", name_, name, e.what());
        }
    }
    {
        std::lock_guard lock(run_mutex_);
        --live_cells_;
    }
    run_cv_.notify_all();
}

std::shared_ptr<Mailbox> NodeCore::find_local(const std::string& name) {
    std::shared_lock lock(names_mutex_);
    auto it = local_.find(name);
    return it == local_.end() ? nullptr : it->second;
}

void NodeCore::erase_local(std::unordered_map<std::string, std::shared_ptr<Mailbox>>::iterator it) {
    local_.erase(it);
    ++names_generation_;  // a link's last delivery may name the box that went
}

Mailbox* NodeCore::find_local_for(PeerLink& peer, std::string_view recipient) {
    auto& last = peer.last;
    if (last.box && last.recipient == recipient &&
        last.names_generation == names_generation_.load(std::memory_order_acquire))
        return last.box.get();
    last.names_generation = names_generation_.load(std::memory_order_acquire);  // before
    last.recipient = recipient;
    last.box = find_local(last.recipient);
    return last.box.get();
}

std::shared_ptr<ActorCell> NodeCore::find_cell(const std::string& name) {
    return std::dynamic_pointer_cast<ActorCell>(find_local(name));
}

// ---- Routing ---------------------------------------------------------------------------

void NodeCore::deliver_local(ActorCell& cell, const EnvelopeHeader& header, Draft& draft) {
    stats_.delivered_local.fetch_add(1, std::memory_order_relaxed);
    cell.deliver(header, draft);
}

void NodeCore::post(Letter&& letter, Draft* draft) {
    const Body* body = draft ? draft : letter.body.get();
    if (letter.origin) {  // an answer goes back over the link its request came on
        auto peer = letter.origin;
        send_remote(letter, *body, peer);
        return;
    }
    if (!is_valid_name(letter.recipient)) {
        dead_letter(letter, ErrorCode::unknown_name,
                    "'" + letter.recipient + "' is not a valid actor name");
        return;
    }
    if (auto box = find_local(letter.recipient)) {
        if (draft) draft->detach(letter.body);
        deliver_local(*box, std::move(letter));
        return;
    }
    if (!registry_) {
        dead_letter(letter, ErrorCode::unknown_name,
                    "no actor named '" + letter.recipient + "' in node '" + name_ + "'");
        return;
    }
    std::string why_not;
    auto peer = peer_for(letter.recipient, why_not);
    if (!peer) {
        dead_letter(letter, ErrorCode::unknown_name, why_not);
        return;
    }
    send_remote(letter, *body, peer);
}

// ---- Batching sends of one turn ---------------------------------------------------------

namespace {

/// A link the open batch sent on, and what it sent there: the link's counters are added
/// to once per batch, not per frame (each is an atomic read-modify-write).
struct BatchedLink {
    std::shared_ptr<PeerLink> peer;
    std::uint64_t frames = 0, bytes = 0;
};

/// The batch open on this thread: the node whose sends it holds, and the links it used.
struct ThreadBatch {
    NodeCore* node = nullptr;
    std::vector<BatchedLink> links;
};
thread_local ThreadBatch this_thread_batch;

/// The frame a remote send encodes into: this thread's buffer, lent for the send and kept
/// with its capacity afterwards, so a steady stream of sends allocates no frame. A send
/// made during another (a DeadLetter from a failed one) finds the slot empty and uses a
/// buffer of its own.
class SendBuffer {
  public:
    SendBuffer() noexcept { bytes.swap(spare()); }
    ~SendBuffer() {
        // A buffer grown by a large frame is not kept for small ones.
        constexpr std::size_t kept_capacity = std::size_t{4} << 20;
        if (bytes.capacity() > kept_capacity) return;
        bytes.clear();
        bytes.swap(spare());
    }
    SendBuffer(const SendBuffer&) = delete;
    SendBuffer& operator=(const SendBuffer&) = delete;

    std::vector<std::byte> bytes;

  private:
    static std::vector<std::byte>& spare() noexcept {
        thread_local std::vector<std::byte> buffer;
        return buffer;
    }
};

}  // namespace

NodeCore::SendBatch::SendBatch(NodeCore& node) noexcept
    : active_(this_thread_batch.node == nullptr) {
    if (active_) this_thread_batch.node = &node;
}

NodeCore::SendBatch::~SendBatch() {
    if (!active_) return;
    this_thread_batch.node->flush_batch();
    this_thread_batch.node = nullptr;
}

void NodeCore::flush_batch() noexcept {
    if (this_thread_batch.node != this) return;
    // Taken out first: the thread starts its next turn with an empty list whatever happens.
    std::vector<BatchedLink> links;
    links.swap(this_thread_batch.links);
    for (const auto& [peer, frames, bytes] : links) {
        // Counted as sent when send() took them, whatever the flush does.
        stats_.sent_remote.fetch_add(frames, std::memory_order_relaxed);
        peer->frames_sent.fetch_add(frames, std::memory_order_relaxed);
        peer->bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
        if (peer->broken) continue;
        try {
            peer->link->flush();
            peer->unflushed = 0;
        } catch (const LinkError& e) {
            ++peer->errors;
            // These letters were accepted by send(): nobody can be told with a DeadLetter.
            spdlog::error("node '{}': up to {} letters sent to node '{}' are lost with its link",
                          name_, peer->unflushed.exchange(0), peer->node);
            drop_peer(peer, e.what());
        }
    }
    links.clear();
    // Kept for the next turn unless a burst made it large.
    if (links.capacity() <= 16) links.swap(this_thread_batch.links);
}

void NodeCore::send_remote(Letter& letter, const Body& body, const std::shared_ptr<PeerLink>& peer,
                           bool names_checked) {
    if (peer->broken) {
        dead_letter(letter, ErrorCode::link_failed,
                    "the link to node '" + peer->node + "' is closed");
        return;
    }
    SendBuffer buffer;
    auto& frame = buffer.bytes;
    std::vector<int> fds;  // borrowed from the body, which closes them when it goes
    EnvelopeHeader header{letter.flags,       letter.priority, letter.type,
                          letter.correlation, letter.sender,   letter.recipient};
    if (names_checked)
        encode_envelope_header(header, 0, frame, NamesChecked{});
    else
        encode_envelope_header(header, 0, frame);
    std::size_t payload_start = frame.size();
    body.encode(frame, fds);
    patch_payload_length(frame, frame.size() - payload_start);
    if (!fds.empty() && !peer->link->capabilities().fd_passing) {
        // The message is refused, not the link: it is fine for everything else.
        std::string reason = cannot_carry_fds(letter, fds.size(), *peer);
        dead_letter(letter, ErrorCode::unsupported, reason);
        if (letter.is_reply()) {  // the requester learns why instead of timing out
            Letter answer =
                make_letter(DeadLetter{letter.sender, letter.type,
                                       static_cast<std::uint8_t>(ErrorCode::unsupported), reason},
                            std::string(), letter.recipient);
            answer.flags = envelope_flags::reply;
            answer.correlation = letter.correlation;
            answer.origin = peer;
            send_remote(answer, *answer.body, peer);
        }
        return;
    }
    // Inside a turn the link may keep the frame; the turn's end flushes it.
    const bool more = this_thread_batch.node == this;
    try {
        peer->link->send(frame, fds, letter.priority, more);
        if (more) {
            ++peer->unflushed;
            auto& links = this_thread_batch.links;
            auto batched = std::find_if(links.begin(), links.end(),
                                        [&](const BatchedLink& l) { return l.peer == peer; });
            if (batched == links.end()) batched = links.insert(links.end(), BatchedLink{peer});
            ++batched->frames;
            batched->bytes += frame.size();
        } else {
            peer->unflushed = 0;
            stats_.sent_remote.fetch_add(1, std::memory_order_relaxed);
            peer->frames_sent.fetch_add(1, std::memory_order_relaxed);
            peer->bytes_sent.fetch_add(frame.size(), std::memory_order_relaxed);
        }
    } catch (const LinkError& e) {
        ++peer->errors;
        if (auto lost = peer->unflushed.exchange(0); lost > 0) {
            spdlog::error(
                "node '{}': up to {} letters sent earlier to node '{}' are lost with "
                "its link",
                name_, lost, peer->node);
        }
        drop_peer(peer, e.what());
        dead_letter(letter, ErrorCode::link_failed,
                    "the link to node '" + peer->node + "' failed: " + e.what());
    }
}

std::shared_ptr<PeerLink> NodeCore::known_peer(const std::string& name) {
    std::lock_guard lock(peers_mutex_);
    if (auto route = route_cache_.find(name); route != route_cache_.end())
        if (auto peer = peers_.find(route->second); peer != peers_.end() && !peer->second->broken)
            return peer->second;
    return nullptr;
}

std::shared_ptr<PeerLink> NodeCore::peer_for(const std::string& name, std::string& why_not) {
    {
        std::lock_guard lock(peers_mutex_);
        if (auto route = route_cache_.find(name); route != route_cache_.end())
            if (auto peer = peers_.find(route->second);
                peer != peers_.end() && !peer->second->broken)
                return peer->second;
    }
    registry::Location where;
    try {
        where = registry_->lookup(name);
    } catch (const RegistryError& e) {
        why_not = "cannot look up '" + name + "': " + e.what();
        return nullptr;
    }
    if (!where.found || where.node == name_) {
        why_not = "no actor named '" + name + "' on this host";
        return nullptr;
    }
    {
        std::lock_guard lock(peers_mutex_);
        route_cache_[name] = where.node;
        if (auto peer = peers_.find(where.node); peer != peers_.end() && !peer->second->broken)
            return peer->second;
        if (auto child = spawned_peer(where)) return child;
    }
    try {
        auto peer = connect_peer(where);
        std::lock_guard lock(peers_mutex_);
        auto [it, inserted] = peers_.try_emplace(where.node, peer);
        if (!inserted && !it->second->broken) return it->second;  // another thread won
        it->second = peer;
        return peer;
    } catch (const std::exception& e) {
        why_not = "cannot connect to node '" + where.node + "' of '" + name + "': " + e.what();
        return nullptr;
    }
}

std::shared_ptr<PeerLink> NodeCore::connect_peer(const registry::Location& where) {
    std::vector<Endpoint> theirs_endpoints;
    std::vector<std::string> ours, theirs;
    for (const auto& listener : listeners_) ours.push_back(listener->endpoint().scheme);
    for (const auto& uri : where.endpoints) {
        try {
            theirs_endpoints.push_back(Endpoint::parse(uri));
            theirs.push_back(theirs_endpoints.back().scheme);
        } catch (const std::invalid_argument& e) {
            spdlog::warn("node '{}': node '{}' announces a bad endpoint: {}", name_, where.node,
                         e.what());
        }
    }
    auto selection = choose(config_, name_, where.node, ours, theirs, /*same_host=*/true);
    if (!selection) throw LinkError(selection.error());
    std::string errors;
    for (const auto& endpoint : theirs_endpoints) {
        if (endpoint.scheme != selection->transport) continue;
        const std::string uri = endpoint.to_string();
        try {
            auto peer = std::make_shared<PeerLink>();
            peer->node = where.node;
            peer->transport = endpoint.scheme;
            peer->reason = selection->describe();
            peer->initiated = true;
            peer->link = TransportRegistry::builtin().connect(
                endpoint, config_.settings(endpoint.scheme).options());
            EnvelopeHeader header;
            header.recipient = where.node;
            auto hello = encode_message(header, Hello{name_});
            peer->link->send(hello);
            watch_link(peer);
            return peer;
        } catch (const std::exception& e) {
            errors += (errors.empty() ? "" : "; ") + uri + ": " + e.what();
        }
    }
    throw LinkError(errors.empty() ? "it has no endpoints" : errors);
}

void NodeCore::watch_link(const std::shared_ptr<PeerLink>& peer) {
    {
        std::lock_guard lock(peers_mutex_);
        links_.insert(peer);
        if (peer->link->capabilities().memory_polling) {
            polled_.push_back(peer);
            ++polled_version_;
        }
    }
    std::weak_ptr<PeerLink> weak = peer;
    // Shared: an idle worker polling the links runs it too (NodeCore::poll), unless it
    // looks at the link in memory anyway.
    reactor_->add(
        peer->link->poll_fd(),
        [this, weak] {
            if (auto p = weak.lock()) on_readable(p);
        },
        /*shared=*/!peer->link->capabilities().memory_polling);
}

void NodeCore::on_accept(Listener& listener) {
    while (auto link = listener.accept()) {
        auto peer = std::make_shared<PeerLink>();
        peer->link = std::move(link);
        peer->transport = listener.endpoint().scheme;
        peer->reason = "accepted";
        watch_link(peer);
    }
}

namespace {
/// Set while this thread is a worker polling the node's links: it must never wait for a
/// link another thread is receiving from (the reactor would, briefly).
thread_local bool this_thread_polls = false;
}  // namespace

void NodeCore::on_readable(const std::shared_ptr<PeerLink>& peer) {
    std::unique_lock lock(peer->receiving, std::defer_lock);
    if (!this_thread_polls)
        lock.lock();
    else if (!lock.try_lock())
        return;  // another thread receives from it now
    receive_frames(peer);
}

void Mailbox::deliver(const EnvelopeHeader& header, Frame&& frame,
                      std::span<const std::byte> payload, const std::shared_ptr<PeerLink>& origin) {
    Letter letter;
    address(letter, header);  // its names view the frame: before the body takes it
    letter.origin = origin;
    letter.body.emplace<WireBody>(std::move(frame), payload);
    deliver(std::move(letter));
}

void NodeCore::receive_frames(const std::shared_ptr<PeerLink>& peer) {
    if (peer->broken) return;
    auto& frames = peer->inbox;
    frames.clear();
    auto status = peer->link->receive(frames);
    // Counted once per receive (each count is an atomic read-modify-write), and before
    // any of its letters is delivered: whoever sees a letter sees its frame counted.
    if (!frames.empty()) {
        std::uint64_t bytes = 0;
        for (const auto& frame : frames) bytes += frame.data().size();
        stats_.received_remote.fetch_add(frames.size(), std::memory_order_relaxed);
        peer->frames_received.fetch_add(frames.size(), std::memory_order_relaxed);
        peer->bytes_received.fetch_add(bytes, std::memory_order_relaxed);
    }
    for (auto& frame : frames) {
        if (peer->broken) break;
        on_frame(peer, frame);
    }
    frames.clear();
    if (status.state == ReceiveStatus::State::closed) drop_peer(peer, closed_by_peer);
    if (status.state == ReceiveStatus::State::failed) drop_peer(peer, status.reason);
}

// ---- Polling links from an idle worker -------------------------------------------------

void NodeCore::refresh_polled() {
    std::lock_guard lock(peers_mutex_);
    polling_ = polled_;
    polling_version_ = polled_version_.load(std::memory_order_relaxed);
}

void NodeCore::polling(bool on) noexcept {
    if (on && polling_version_ != polled_version_.load(std::memory_order_acquire)) refresh_polled();
    for (const auto& peer : polling_) peer->link->set_polled(on);
}

bool NodeCore::poll() {
    if (polling_version_ != polled_version_.load(std::memory_order_acquire)) {
        polling(false);  // links gone from the list must signal again
        polling(true);
    }
    bool arrived = false;
    for (const auto& peer : polling_) {
        if (!peer->link->input_pending()) continue;
        std::unique_lock lock(peer->receiving, std::try_to_lock);
        if (!lock.owns_lock()) continue;  // the reactor has it
        receive_frames(peer);
        arrived = true;
    }
    // The other links cost a system call to look at: every few rounds, ask the reactor's
    // epoll set what is readable and receive it here, on this awake thread.
    constexpr unsigned epoll_every = 8;
    if (++polls_ % epoll_every == 0) {
        this_thread_polls = true;
        arrived = reactor_->poll_now() || arrived;
        this_thread_polls = false;
    }
    return arrived;
}

namespace {

/// A letter for dead_letter(): the envelope of a frame that cannot be delivered.
Letter undeliverable(const EnvelopeHeader& header, const std::shared_ptr<PeerLink>& peer) {
    Letter letter;
    address(letter, header);
    letter.origin = peer;
    return letter;
}

}  // namespace

void NodeCore::on_frame(const std::shared_ptr<PeerLink>& peer, Frame& frame) {
    auto view = decode_envelope(frame.data());
    if (!view) {
        ++stats_.bad_frames;
        ++peer->errors;
        spdlog::error("node '{}': malformed frame from {}: {} ({}); closing the link", name_,
                      peer->link->peer(), view.error().message, to_string(view.error().code));
        drop_peer(peer, "malformed frame");
        return;
    }
    const auto& header = view->header;
    if (header.type == type_id_of<Hello>()) {
        auto hello = decode_payload<Hello>(view->payload);
        if (hello && is_valid_name(hello->node)) {
            std::lock_guard lock(peers_mutex_);
            peer->node = hello->node;
            peers_.try_emplace(hello->node, peer);
        }
        return;
    }
    if (header.type != peer->last.type) {
        if (!MessageRegistry::global().contains(header.type)) {
            dead_letter(
                undeliverable(header, peer), ErrorCode::bad_message,
                type_name(header.type) + " is not a message type known to node '" + name_ + "'");
            return;
        }
        peer->last.type = header.type;  // types are never unregistered
    }
    Mailbox* box = find_local_for(*peer, header.recipient);
    if (!box) {
        dead_letter(
            undeliverable(header, peer), ErrorCode::unknown_name,
            "no actor named '" + std::string(header.recipient) + "' in node '" + name_ + "'");
        return;
    }
    box->deliver(header, std::move(frame), view->payload, peer);
}

void NodeCore::drop_peer(const std::shared_ptr<PeerLink>& peer, const std::string& reason) {
    if (peer->broken.exchange(true)) return;
    // A peer that closes cleanly is ordinary (a process that finished); anything else is news.
    bool clean = reason == closed_by_peer;
    spdlog::log(clean ? spdlog::level::debug : spdlog::level::warn,
                "node '{}': link to {} closed: {}", name_,
                peer->node.empty() ? peer->link->peer() : "node '" + peer->node + "'", reason);
    reactor_->remove(peer->link->poll_fd());
    std::lock_guard lock(peers_mutex_);
    if (auto it = peers_.find(peer->node); it != peers_.end() && it->second == peer)
        peers_.erase(it);
    std::erase_if(route_cache_, [&](const auto& route) { return route.second == peer->node; });
    ++route_generation_;
    links_.erase(peer);
    if (std::erase(polled_, peer) != 0) ++polled_version_;
}

void NodeCore::dead_letter(const Letter& letter, ErrorCode code, const std::string& reason) {
    ++stats_.dead_letters;
    spdlog::warn("node '{}': dead letter: {} from '{}' to '{}': {}", name_, type_name(letter.type),
                 letter.sender.empty() ? "(anonymous)" : letter.sender, letter.recipient, reason);
    // Never bounce a bounce, an answer, or a letter nobody can be told about.
    if (letter.sender.empty() || letter.is_reply() || letter.type == type_id_of<DeadLetter>())
        return;
    Letter back = make_letter(
        DeadLetter{letter.recipient, letter.type, static_cast<std::uint8_t>(code), reason},
        std::string(), letter.sender);
    address_reply(back, &letter);
    post(std::move(back));
}

// ---- Requests, waiting and watching ----------------------------------------------------

Letter NodeCore::await_reply(Letter request, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto waiter = std::make_shared<ReplyWaiter>();
    request.correlation = next_correlation();
    request.flags |= envelope_flags::request;
    request.sender = "$request." + std::to_string(request.correlation);
    std::string waiter_name = request.sender;
    {
        std::unique_lock lock(names_mutex_);
        local_.emplace(waiter_name, waiter);
    }
    post(std::move(request));
    flush_batch();  // a handler that waits for an answer must not hold back its question
    auto answer = waiter->wait(deadline);
    {
        std::unique_lock lock(names_mutex_);
        if (auto it = local_.find(waiter_name); it != local_.end()) erase_local(it);
    }
    if (answer) return std::move(*answer);
    Letter expired;
    expired.type = request_timeout_type;
    return expired;
}

void NodeCore::arm_timeout(const std::string& actor, std::uint64_t correlation,
                           std::chrono::milliseconds timeout) {
    reactor_->after(timeout, [this, actor, correlation] {
        Letter expired;
        expired.type = request_timeout_type;
        expired.correlation = correlation;
        if (auto box = find_local(actor)) box->deliver(std::move(expired));
    });
}

bool NodeCore::wait_for(std::string_view name, std::chrono::milliseconds timeout) {
    if (find_local(std::string(name))) return true;
    if (!registry_) return false;
    return registry_->lookup(std::string(name), timeout).found;
}

void NodeCore::watch(const std::string& watcher, std::string_view name) {
    if (!registry_)
        throw SetupError(ErrorCode::unknown_name, "watching needs a node with a registry");
    {
        std::lock_guard lock(watch_mutex_);
        watchers_[std::string(name)].insert(watcher);
    }
    auto status = registry_->watch(std::string(name));
    if (!status.ok) spdlog::warn("node '{}': cannot watch '{}': {}", name_, name, status.error);
}

void NodeCore::on_name_down(const registry::NameDown& down) {
    {
        std::lock_guard lock(peers_mutex_);
        route_cache_.erase(down.name);
        ++route_generation_;
    }
    std::set<std::string> watchers;
    {
        std::lock_guard lock(watch_mutex_);
        if (auto it = watchers_.find(down.name); it != watchers_.end()) {
            watchers = std::move(it->second);
            watchers_.erase(it);
        }
    }
    // Local delivery only: this runs on the registry's reader thread, which must not wait
    // for the registry.
    for (const auto& watcher : watchers)
        if (auto box = find_local(watcher))
            box->deliver(make_letter(Down{down.name, down.reason}, std::string(), watcher));
}

}  // namespace detail
}  // namespace courier
