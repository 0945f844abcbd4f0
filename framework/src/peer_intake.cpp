// How frames come in from the node's links: the reactor, or an idle worker polling the
// links, receives a link's frames and hands each to its letter's mailbox, to the node's
// own protocol, or to the dead letters.

#include "link_sender.hpp"
#include "local_actors.hpp"
#include "node_core.hpp"
#include "peers.hpp"

#include <courier/log.hpp>
#include <courier/transports/buffer_pool.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <span>

namespace courier::detail {

namespace {

/// Set while this thread is a worker polling the node's links: it must never wait for a
/// link another thread is receiving from (the reactor would, briefly).
thread_local bool this_thread_polls = false;

/// The descriptors the reactor watches for a link: its poll_fd(), or the members of that
/// set (Link::poll_members), each of which one waiting thread can be woken for alone.
std::span<const int> watched(const Link& link, const int& poll_fd) {
    auto members = link.poll_members();
    return members.empty() ? std::span<const int>(&poll_fd, 1) : members;
}

/// A letter for dead_letter(): the envelope of a frame that cannot be delivered.
Letter undeliverable(const EnvelopeHeader& header, const std::shared_ptr<PeerLink>& peer) {
    Letter letter;
    address(letter, header);
    letter.origin = peer;
    return letter;
}

}  // namespace

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
    const int poll_fd = peer->link->poll_fd();
    for (const int fd : watched(*peer->link, poll_fd)) {
        // Shared: an idle worker polling the links runs it too (Peers::poll, Peers::wait),
        // unless it looks at the link in memory anyway.
        node_.reactor().add(
            fd,
            [this, weak] {
                if (auto p = weak.lock()) on_readable(p);
            },
            /*shared=*/!peer->link->capabilities().memory_polling);
    }
    // The peer may send LinkCredit::initial until it hears our window.
    node_.sender().grant_due(peer);
}

void Peers::unwatch(const PeerLink& peer) {
    const int poll_fd = peer.link->poll_fd();
    for (const int fd : watched(*peer.link, poll_fd)) node_.reactor().remove(fd);
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
    // What was not delivered (the framework's own frames: credit, heartbeats; refused
    // ones) gives its buffer back, as a letter does when it dies.
    for (auto& frame : frames)
        if (frame.bytes.capacity() != 0) BufferPool::frames().give(std::move(frame.bytes));
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

// ---- Waiting for the links on an idle worker ------------------------------------------

bool Peers::waits() const noexcept {
    return node_.reactor().worker_waits();
}

bool Peers::wait() {
    // A link the reactor receives from now is waited for (on_readable locks): this worker
    // has nothing else to do, and the reactor ends soon.
    return node_.reactor().wait_shared();
}

void Peers::interrupt() noexcept {
    node_.reactor().interrupt_wait();
}

}  // namespace courier::detail
