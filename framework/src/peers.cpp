#include "peers.hpp"

#include "link_sender.hpp"
#include "local_actors.hpp"
#include "node_core.hpp"

#include <courier/framework/runtime_dir.hpp>
#include <courier/log.hpp>
#include <courier/transports/transport.hpp>

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>

namespace courier::detail {

namespace {

constexpr const char* closed_by_peer = "closed by the peer";

/// Set while this thread is a worker polling the node's links: it must never wait for a
/// link another thread is receiving from (the reactor would, briefly).
thread_local bool this_thread_polls = false;

/// A letter for dead_letter(): the envelope of a frame that cannot be delivered.
Letter undeliverable(const EnvelopeHeader& header, const std::shared_ptr<PeerLink>& peer) {
    Letter letter;
    address(letter, header);
    letter.origin = peer;
    return letter;
}

}  // namespace

// ---- Listening -------------------------------------------------------------------------

void Peers::listen() {
    const Config& config = node_.config();
    // Listen on every transport this node may be asked to use: the override alone, or
    // the preference list and whatever the rules pin.
    std::vector<std::string> schemes;
    auto want = [&](const std::string& scheme) {
        if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end())
            schemes.push_back(scheme);
    };
    if (config.override_transport) {
        want(*config.override_transport);
    } else {
        for (const auto& scheme : config.preference) want(scheme);
        for (const auto& rule : config.rules) want(rule.transport);
    }
    // A transport other hosts can reach (tcp) is in the default preference of no config
    // (docs/security.md): it is listened on when the override, the preference list or a
    // rule names it, or when it is given an address to listen on.
    for (const auto& [scheme, settings] : config.transports)
        if (settings.listen) want(scheme);
    const auto& runtime_dir = node_.options().registry.runtime_dir;
    EndpointHint hint{node_.name(), static_cast<long>(::getpid()),
                      runtime_dir.empty() ? default_runtime_dir() : runtime_dir};
    ensure_runtime_dir(hint.runtime_dir);
    std::string failures;
    for (const auto& scheme : schemes) {
        const auto* transport = TransportRegistry::builtin().find(scheme);
        if (!transport || !transport->default_endpoint) continue;
        try {
            // Through the registry, which adds fragmentation where the mechanism needs it.
            const auto& settings = config.settings(scheme);
            auto listener = TransportRegistry::builtin().listen(
                settings.listen ? Endpoint{scheme, *settings.listen}
                                : transport->default_endpoint(hint),
                settings.options());
            Listener& ref = *listener;
            node_.reactor().add(ref.poll_fd(), [this, &ref] { on_accept(ref); });
            std::lock_guard lock(mutex_);
            listeners_.push_back(std::move(listener));
        } catch (const std::exception& e) {
            failures += "; " + scheme + ": " + e.what();
            log().warn("node '{}': cannot listen on {}: {}", node_.name(), scheme, e.what());
        }
    }
    // A node may listen on nothing when none of its transports listens (pipe:): it is
    // reached over the links it makes, such as those to the children it spawns.
    if (listeners_.empty() && !failures.empty())
        throw SetupError(ErrorCode::link_failed,
                         "node '" + node_.name() + "' cannot listen on any transport" + failures);
    if (config.override_transport && !listeners_.empty() &&
        listeners_.front()->endpoint().scheme != schemes.front())
        throw SetupError(ErrorCode::link_failed, "node '" + node_.name() + "' cannot listen on " +
                                                     *config.override_transport + failures);
}

std::vector<std::string> Peers::endpoints() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> uris;
    for (const auto& listener : listeners_) uris.push_back(listener->endpoint().to_string());
    return uris;
}

std::vector<std::string> Peers::listening_schemes() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> schemes;
    for (const auto& listener : listeners_) schemes.push_back(listener->endpoint().scheme);
    return schemes;
}

void Peers::close_listeners() noexcept {
    std::vector<std::unique_ptr<Listener>> closing;
    {
        std::lock_guard lock(mutex_);
        closing.swap(listeners_);
    }
    for (const auto& listener : closing) node_.reactor().remove(listener->poll_fd());
}

std::vector<LinkInfo> Peers::links() {
    std::lock_guard lock(mutex_);
    std::vector<LinkInfo> infos;
    for (const auto& peer : links_) {
        const auto credit = peer->credit.stats();
        infos.push_back(LinkInfo{peer->node(), peer->transport, peer->reason, peer->link->peer(),
                                 peer->initiated, peer->frames_sent.load(), peer->bytes_sent.load(),
                                 peer->frames_received.load(), peer->bytes_received.load(),
                                 peer->errors.load(), credit.credit, credit.outbox,
                                 credit.unreturned, credit.blocked_us});
    }
    return infos;
}

void Peers::on_accept(Listener& listener) {
    const auto timeout = std::chrono::ceil<std::chrono::milliseconds>(
        node_.config().settings(listener.endpoint().scheme).options().handshake_timeout);
    while (auto link = listener.accept()) {
        auto peer = std::make_shared<PeerLink>();
        peer->link = std::move(link);
        peer->transport = listener.endpoint().scheme;
        peer->reason = "accepted";
        watch(peer);
        // A connection that never says who it is holds its buffers and descriptors for
        // nothing: it gets handshake_timeout_us to send its Hello.
        node_.reactor().after(timeout, [this, weak = std::weak_ptr<PeerLink>(peer), timeout] {
            auto silent = weak.lock();
            if (!silent || silent->broken) return;
            {
                std::lock_guard lock(mutex_);
                if (silent->said_hello) return;
            }
            ++silent->errors;
            log().warn("node '{}': {} said no Hello within {} ms; closing the link", node_.name(),
                       silent->link->peer(), timeout.count());
            drop(silent, "no Hello within " + std::to_string(timeout.count()) + " ms");
        });
    }
}

// ---- Finding the node that has a name --------------------------------------------------

std::shared_ptr<PeerLink> Peers::known(const std::string& name) {
    std::lock_guard lock(mutex_);
    if (auto route = routes_.find(name); route != routes_.end())
        if (auto peer = by_node_.find(route->second);
            peer != by_node_.end() && !peer->second->broken)
            return peer->second;
    return nullptr;
}

std::shared_ptr<PeerLink> Peers::find(const std::string& name, std::string& why_not) {
    if (auto peer = known(name)) return peer;
    if (closed_.load()) {
        why_not = "node '" + node_.name() + "' has stopped";
        return nullptr;
    }
    auto unknown = [&] {
        why_not = "no actor named '" + name + "' on this host";
        return nullptr;
    };
    if (unknown_.contains(name)) return unknown();
    const std::uint64_t epoch = unknown_.epoch();  // before asking: see UnknownNames
    registry::Location where;
    try {
        node_.counters().registry_lookups.fetch_add(1, std::memory_order_relaxed);
        where = node_.registry()->lookup(name);
    } catch (const RegistryError& e) {
        why_not = "cannot look up '" + name + "': " + e.what();
        return nullptr;
    }
    if (!where.found && where.notify_up) unknown_.add(name, epoch);
    if (!where.found || where.node == node_.name()) return unknown();
    {
        std::lock_guard lock(mutex_);
        routes_[name] = where.node;
        if (auto peer = by_node_.find(where.node); peer != by_node_.end() && !peer->second->broken)
            return peer->second;
        if (auto child = spawned(where)) return child;
        // A link it made to us waits for this very answer to be named (claim).
        for (auto [it, end] = claims_.equal_range(where.node); it != end; ++it) {
            if (it->second.pid != where.pid || it->second.peer->broken) continue;
            auto peer = std::move(it->second.peer);
            claims_.erase(it);
            bind(peer, where.node);
            return peer;
        }
    }
    try {
        auto peer = connect(where);
        std::lock_guard lock(mutex_);
        auto [it, inserted] = by_node_.try_emplace(where.node, peer);
        if (!inserted && !it->second->broken) return it->second;  // another thread won
        it->second = peer;
        return peer;
    } catch (const std::exception& e) {
        why_not = "cannot connect to node '" + where.node + "' of '" + name + "': " + e.what();
        return nullptr;
    }
}

void Peers::forget(const std::string& name) {
    std::lock_guard lock(mutex_);
    routes_.erase(name);
    ++generation_;
}

std::string Peers::node_of(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto route = routes_.find(name);
    if (route == routes_.end()) return {};
    auto peer = by_node_.find(route->second);
    return peer != by_node_.end() && !peer->second->broken ? route->second : std::string();
}

std::shared_ptr<PeerLink> Peers::connect(const registry::Location& where) {
    std::vector<Endpoint> theirs_endpoints;
    std::vector<std::string> ours = listening_schemes(), theirs;
    for (const auto& uri : where.endpoints) {
        try {
            theirs_endpoints.push_back(Endpoint::parse(uri));
            theirs.push_back(theirs_endpoints.back().scheme);
        } catch (const std::invalid_argument& e) {
            log().warn("node '{}': node '{}' announces a bad endpoint: {}", node_.name(),
                       where.node, e.what());
        }
    }
    const Config& config = node_.config();
    auto selection = choose(config, node_.name(), where.node, ours, theirs, /*same_host=*/true);
    if (!selection) throw LinkError(selection.error());
    std::string errors;
    for (const auto& endpoint : theirs_endpoints) {
        if (endpoint.scheme != selection->transport) continue;
        const std::string uri = endpoint.to_string();
        try {
            auto peer = std::make_shared<PeerLink>();
            peer->name(where.node);
            peer->transport = endpoint.scheme;
            peer->reason = selection->describe();
            peer->initiated = true;
            peer->link = TransportRegistry::builtin().connect(
                endpoint, config.settings(endpoint.scheme).options());
            EnvelopeHeader header;
            header.recipient = where.node;
            auto hello = encode_message(header, Hello{node_.name()});
            peer->link->send(hello);
            watch(peer);
            return peer;
        } catch (const std::exception& e) {
            errors += (errors.empty() ? "" : "; ") + uri + ": " + e.what();
        }
    }
    throw LinkError(errors.empty() ? "it has no endpoints" : errors);
}

// ---- Taking frames in ------------------------------------------------------------------

void Peers::watch(const std::shared_ptr<PeerLink>& peer) {
    peer->credit.set_window(node_.options().credit_window);  // before anything arrives
    {
        std::lock_guard lock(mutex_);
        links_.insert(peer);
        recount_twice_linked();
        if (peer->link->capabilities().memory_polling) {
            polled_.push_back(peer);
            ++polled_version_;
        }
    }
    node_.heartbeats().watch(peer);
    std::weak_ptr<PeerLink> weak = peer;
    // Shared: an idle worker polling the links runs it too (Peers::poll), unless it
    // looks at the link in memory anyway.
    node_.reactor().add(
        peer->link->poll_fd(),
        [this, weak] {
            if (auto p = weak.lock()) on_readable(p);
        },
        /*shared=*/!peer->link->capabilities().memory_polling);
    // The peer may send LinkCredit::initial until it hears our window.
    node_.sender().grant_due(peer);
}

void Peers::on_readable(const std::shared_ptr<PeerLink>& peer) {
    std::unique_lock lock(peer->receiving, std::defer_lock);
    if (!this_thread_polls)
        lock.lock();
    else if (!lock.try_lock())
        return;  // another thread receives from it now
    receive(peer);
}

void Peers::receive(const std::shared_ptr<PeerLink>& peer) {
    if (peer->broken) return;
    auto& frames = peer->inbox;
    frames.clear();
    auto status = peer->link->receive(frames);
    // Counted once per receive (each count is an atomic read-modify-write), and before
    // any of its letters is delivered: whoever sees a letter sees its frame counted.
    if (!frames.empty()) {
        std::uint64_t bytes = 0;
        for (const auto& frame : frames) bytes += frame.data().size();
        node_.counters().received_remote.fetch_add(frames.size(), std::memory_order_relaxed);
        peer->frames_received.fetch_add(frames.size(), std::memory_order_relaxed);
        peer->bytes_received.fetch_add(bytes, std::memory_order_relaxed);
    }
    // After the frames are in: they were sent on grants made before now.
    Intake intake{0, peer->credit.room()};
    for (auto& frame : frames) {
        if (peer->broken) break;
        on_frame(peer, frame, intake);
    }
    frames.clear();
    if (intake.credited != 0 && !peer->broken) [[likely]] {
        peer->credit.arrived(intake.credited);
        // It waits on us: actors parked on its node's credit may hold its letters.
        if (peer->credit.peer_waits()) release_parked(*peer);
    }
    if (status.state == ReceiveStatus::State::closed) drop(peer, closed_by_peer);
    if (status.state == ReceiveStatus::State::failed) drop(peer, status.reason);
}

void Peers::on_frame(const std::shared_ptr<PeerLink>& peer, Frame& frame, Intake& intake) {
    auto view = decode_envelope(frame.data());
    if (!view) {
        ++node_.counters().bad_frames;
        ++peer->errors;
        log().error("node '{}': malformed frame from {}: {} ({}); closing the link", node_.name(),
                    peer->link->peer(), view.error().message, to_string(view.error().code));
        drop(peer, "malformed frame");
        return;
    }
    const auto& header = view->header;
    if ((header.flags & envelope_flags::credited) && ++intake.credited > intake.room) {
        ++peer->errors;
        log().error("node '{}': {} sent more letters than its credit allows; closing the link",
                    node_.name(), peer->who());
        drop(peer, "sent beyond its credit");
        return;
    }
    if (header.type == type_id_of<Hello>()) {
        auto hello = decode_payload<Hello>(view->payload);
        if (hello && hello->node.empty()) {
            // A tool that asks questions (`courier ping`), not a node: the link stays
            // unnamed, past handshake_timeout_us.
            std::lock_guard lock(mutex_);
            peer->said_hello = true;
            return;
        }
        if (hello && is_valid_name(hello->node) && hello->node != node_.name())
            claim(peer, hello->node);
        return;
    }
    if (header.type != peer->last.type) {
        // Never remembered as the last type, so the stream's own type skips this test.
        if (header.type == type_id_of<Heartbeat>()) return;  // it arrived: that was its point
        if (header.type == type_id_of<Credit>()) {
            granted(peer, view->payload);
            return;
        }
        if (!MessageRegistry::global().contains(header.type)) {
            refused(peer, header, frame);
            node_.dead_letter(undeliverable(header, peer), ErrorCode::bad_message,
                              type_name(header.type) + " is not a message type known to node '" +
                                  node_.name() + "'");
            return;
        }
        peer->last.type = header.type;  // types are never unregistered
    }
    Mailbox* box = node_.actors().find_for(*peer, header.recipient);
    if (!box) {
        refused(peer, header, frame);
        node_.dead_letter(undeliverable(header, peer), ErrorCode::unknown_name,
                          "no actor named '" + std::string(header.recipient) + "' in node '" +
                              node_.name() + "'");
        return;
    }
    box->deliver(header, std::move(frame), view->payload, peer);
}

std::vector<std::shared_ptr<PeerLink>> Peers::links_of(const PeerLink& peer) {
    // Two nodes that link to each other at once have two links: either may carry the
    // letters of one and the credit of the other. Rare: most receive batches of a peer
    // short of credit come here, and find no other without taking the lock.
    if (peer.node().empty() || twice_linked_.load() == 0) return {};
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<PeerLink>> same;
    for (const auto& each : links_)
        if (each->node() == peer.node()) same.push_back(each);
    return same;
}

void Peers::recount_twice_linked() {
    std::set<std::string_view> named;
    std::size_t twice = 0;
    for (const auto& each : links_)
        if (!each->node().empty() && !named.insert(each->node()).second) ++twice;
    twice_linked_.store(twice);
}

bool Peers::waits_on_us(const PeerLink& peer) {
    if (peer.credit.peer_waits()) return true;
    for (const auto& each : links_of(peer))
        if (each->credit.peer_waits()) return true;
    return false;
}

void Peers::release_parked(PeerLink& peer) {
    // Seq_cst after the letters were counted (LinkCredit::arrived): see park_for_credit.
    if (peer.credit.has_parked()) peer.credit.release_parked();
    for (const auto& each : links_of(peer))
        if (each->credit.has_parked()) each->credit.release_parked();
}

void Peers::granted(const std::shared_ptr<PeerLink>& peer, std::span<const std::byte> payload) {
    auto grant = decode_payload<Credit>(payload);
    if (!grant) {
        ++node_.counters().bad_frames;
        ++peer->errors;
        log().error("node '{}': malformed credit grant from {}: {}; closing the link", node_.name(),
                    peer->link->peer(), grant.error().message);
        drop(peer, "malformed credit grant");
        return;
    }
    // The outbox drains on a worker: its sends may block, and this may be the reactor.
    if (peer->credit.granted(*grant))
        node_.scheduler().post([this, peer] { node_.sender().drain(peer); });
}

void Peers::refused(const std::shared_ptr<PeerLink>& peer, const EnvelopeHeader& header,
                    const Frame& frame) {
    if (header.flags & envelope_flags::credited)
        node_.sender().returned(peer, 1, frame.data().size(), /*here=*/false);
}

void Peers::drop(const std::shared_ptr<PeerLink>& peer, const std::string& reason) {
    if (peer->broken.exchange(true)) return;
    // A peer that closes cleanly is ordinary (a process that finished), and so is our own
    // stop; anything else is news.
    bool clean = reason == closed_by_peer || reason == node_stopped;
    log().log(clean ? spdlog::level::debug : spdlog::level::warn,
              "node '{}': link to {} closed: {}", node_.name(), peer->who(), reason);
    node_.reactor().remove(peer->link->poll_fd());
    bool polled = false;
    {
        std::lock_guard lock(mutex_);
        if (auto it = by_node_.find(peer->node()); it != by_node_.end() && it->second == peer)
            by_node_.erase(it);
        std::erase_if(routes_, [&](const auto& route) { return route.second == peer->node(); });
        ++generation_;
        links_.erase(peer);
        std::erase_if(claims_, [&](const auto& c) { return c.second.peer == peer; });
        recount_twice_linked();
        polled = std::erase(polled_, peer) != 0;
        if (polled) ++polled_version_;
    }
    // The worker that polls next lets go of its copy of the list, and with it the link (so
    // that the peer sees it closed): wake one, in case they all sleep.
    if (polled) node_.scheduler().post([] {});
    // After the mark above: a request leaving now sees it (Requests::sent_over).
    node_.requests().link_lost(*peer, reason);
    node_.monitors().link_lost(*peer, reason);
    // The letters still waiting for credit go back to their senders; actors parked on it
    // run again.
    for (const auto& held : peer->credit.close()) {
        auto view = decode_envelope(held.frame);
        if (!view) continue;  // encoded here: cannot happen
        node_.dead_letter(letter_from(view->header), ErrorCode::link_failed,
                          "the link to " + peer->who() + " closed (" + reason +
                              ") while the letter waited for credit");
    }
}

void Peers::close_links(std::string_view reason) {
    closed_.store(true);
    std::vector<std::shared_ptr<PeerLink>> open;
    {
        std::lock_guard lock(mutex_);
        open.assign(links_.begin(), links_.end());
    }
    // Each closes when its last holder lets it go: at once, unless a thread is sending on
    // it or receiving from it right now.
    for (const auto& peer : open) drop(peer, std::string(reason));
}

// ---- Polling links from an idle worker -------------------------------------------------

void Peers::refresh_polled() {
    std::lock_guard lock(mutex_);
    polling_ = polled_;
    polling_version_ = polled_version_.load(std::memory_order_relaxed);
    polling_yields_ = std::any_of(polling_.begin(), polling_.end(), [](const auto& peer) {
        return peer->link->capabilities().handover_thread;
    });
}

bool Peers::polling(bool on) noexcept {
    if (on && polling_version_ != polled_version_.load(std::memory_order_acquire)) refresh_polled();
    for (const auto& peer : polling_) peer->link->set_polled(on);
    return on && !polling_.empty();
}

bool Peers::poll(bool descriptors) {
    if (polling_version_ != polled_version_.load(std::memory_order_acquire)) {
        polling(false);  // links gone from the list must signal again
        polling(true);
    }
    bool arrived = false;
    for (const auto& peer : polling_) {
        if (!peer->link->input_pending()) continue;
        std::unique_lock lock(peer->receiving, std::try_to_lock);
        if (!lock.owns_lock()) continue;  // the reactor has it
        receive(peer);
        arrived = true;
    }
    // The other links cost a system call to look at: every few rounds, ask the reactor's
    // epoll set what is readable and receive it here, on this awake thread.
    constexpr unsigned epoll_every = 8;
    if (descriptors && ++polls_ % epoll_every == 0) {
        this_thread_polls = true;
        arrived = node_.reactor().poll_now() || arrived;
        this_thread_polls = false;
    }
    return arrived;
}

}  // namespace courier::detail
