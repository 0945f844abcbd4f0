#include "peers.hpp"

#include "host_name.hpp"
#include "link_sender.hpp"
#include "node_core.hpp"

#include <courier/framework/runtime_dir.hpp>
#include <courier/log.hpp>
#include <courier/transports/transport.hpp>

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>

namespace courier::detail {

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

std::vector<LinkInfo> Peers::closed_links() const {
    std::lock_guard lock(mutex_);
    std::vector<LinkInfo> infos;
    for (const auto& [key, info] : retired_) infos.push_back(info);
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

std::shared_ptr<PeerLink> Peers::find(const std::string& name, std::string& why_not,
                                      std::string* ours) {
    if (auto peer = known(name)) return peer;
    if (closed_.load()) {
        why_not = "node '" + node_.name() + "' has stopped";
        return nullptr;
    }
    auto unknown = [&] {
        why_not = "no actor named '" + name + "'" +
                  (split_host(name).host.empty() ? " on this host" : "");
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
    if (where.found && where.node == node_.name() && ours) *ours = split_host(name).actor;
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
    auto selection =
        choose(config, node_.name(), where.node, ours, theirs, /*same_host=*/where.host.empty());
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

// ---- The links, and their end ---------------------------------------------------------

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
    unwatch(*peer);
    bool polled = false;
    {
        std::lock_guard lock(mutex_);
        if (auto it = by_node_.find(peer->node()); it != by_node_.end() && it->second == peer)
            by_node_.erase(it);
        std::erase_if(routes_, [&](const auto& route) { return route.second == peer->node(); });
        ++generation_;
        if (links_.erase(peer) != 0 && !peer->node().empty()) retire(*peer);
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

void Peers::retire(const PeerLink& peer) {
    std::pair<std::string, std::string> key{peer.node(), peer.transport};
    if (!retired_.contains(key) && retired_.size() >= retired_peers) key.first = "(others)";
    auto& info = retired_[key];
    info.peer_node = key.first;
    info.transport = key.second;
    info.frames_sent += peer.frames_sent.load();
    info.bytes_sent += peer.bytes_sent.load();
    info.frames_received += peer.frames_received.load();
    info.bytes_received += peer.bytes_received.load();
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

}  // namespace courier::detail
