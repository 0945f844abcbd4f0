#include "link_sender.hpp"

#include "actor_cell.hpp"
#include "node_core.hpp"

#include <courier/framework/system_messages.hpp>
#include <courier/log.hpp>
#include <courier/serialization/external_parts.hpp>
#include <courier/transports/buffer_pool.hpp>
#include <courier/transports/transport.hpp>

#include <spdlog/spdlog.h>

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

namespace courier::detail {

namespace {

/// A link the open turn sent on, and what it sent there: the link's counters are added
/// to once per turn, not per frame (each is an atomic read-modify-write).
struct TurnLink {
    std::shared_ptr<PeerLink> peer;
    std::uint64_t frames = 0, bytes = 0;
};

/// The turn open on this thread: the sender whose sends it holds, and the links it used.
struct ThreadTurn {
    LinkSender* sender = nullptr;
    std::vector<TurnLink> links;
};
thread_local ThreadTurn this_thread_turn;

/// The frame a send encodes into: this thread's buffer, lent for the send and kept with
/// its capacity afterwards, so a steady stream of sends allocates no frame. A send made
/// during another (a DeadLetter from a failed one) finds the slot empty and uses a
/// buffer of its own. Beside it, the large ranges the message leaves out of the buffer
/// (ExternalParts) and the frame's pieces for Link::send_parts.
class SendBuffer {
  public:
    SendBuffer() noexcept { swap(spare()); }
    ~SendBuffer() {
        // A buffer grown by a large frame is not kept for small ones.
        constexpr std::size_t kept_capacity = std::size_t{4} << 20;
        if (bytes.capacity() > kept_capacity) return;
        bytes.clear();
        parts.clear();
        pieces.clear();
        swap(spare());
    }
    SendBuffer(const SendBuffer&) = delete;
    SendBuffer& operator=(const SendBuffer&) = delete;

    std::vector<std::byte> bytes;
    ExternalParts parts;
    std::vector<std::span<const std::byte>> pieces;

  private:
    struct Spare {
        std::vector<std::byte> bytes;
        ExternalParts parts;
        std::vector<std::span<const std::byte>> pieces;
    };
    void swap(Spare& spare) noexcept {
        bytes.swap(spare.bytes);
        std::swap(parts, spare.parts);
        pieces.swap(spare.pieces);
    }
    static Spare& spare() noexcept {
        thread_local Spare buffer;
        return buffer;
    }
};

/// The list a drain moves the sendable letters into: this thread's, kept with its
/// capacity from one drain to the next (a drain within a drain, for another link, finds
/// it lent and uses a list of its own).
struct HeldList {
    HeldList() noexcept { held.swap(spare()); }
    ~HeldList() {
        held.clear();
        if (held.capacity() <= 64) held.swap(spare());
    }
    HeldList(const HeldList&) = delete;
    HeldList& operator=(const HeldList&) = delete;
    std::vector<LinkCredit::Held> held;

  private:
    static std::vector<LinkCredit::Held>& spare() noexcept {
        thread_local std::vector<LinkCredit::Held> list;
        return list;
    }
};

/// Sent (or bounced): the held frames' memory goes back to the pool hold() took it from.
void give_back(std::vector<LinkCredit::Held>& sent) noexcept {
    for (auto& held : sent) BufferPool::frames().give(std::move(held.frame));
    sent.clear();
}

/// Why a letter holding descriptors cannot take this link, and what would work.
std::string cannot_carry_fds(TypeId type, std::size_t count, const PeerLink& peer) {
    std::string capable;
    for (const auto& entry : TransportRegistry::builtin().entries())
        if (entry.capabilities.fd_passing) capable += (capable.empty() ? "" : ", ") + entry.scheme;
    return type_name(type) + " holds " + std::to_string(count) +
           (count == 1 ? " file descriptor" : " file descriptors") + ", which the " +
           peer.transport + " link to " + peer.who() +
           " cannot carry; links that carry descriptors need a transport with fd passing (" +
           (capable.empty() ? std::string("none in this build") : capable) +
           "): declare them with fds = true in a [[links.rule]]";
}

}  // namespace

LinkSender::Turn::Turn(LinkSender& sender) noexcept : active_(this_thread_turn.sender == nullptr) {
    if (active_) this_thread_turn.sender = &sender;
}

LinkSender::Turn::~Turn() {
    if (!active_) return;
    this_thread_turn.sender->flush();
    this_thread_turn.sender = nullptr;
}

void LinkSender::flush() noexcept {
    if (this_thread_turn.sender != this) return;
    // Taken out first: the thread starts its next turn with an empty list whatever happens.
    std::vector<TurnLink> links;
    links.swap(this_thread_turn.links);
    for (const auto& [peer, frames, bytes] : links) {
        // Counted as sent when send() took them, whatever the flush does.
        node_.counters().sent_remote.fetch_add(frames, std::memory_order_relaxed);
        peer->frames_sent.fetch_add(frames, std::memory_order_relaxed);
        peer->bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
        if (peer->broken) continue;
        try {
            peer->link->flush();
            peer->unflushed = 0;
        } catch (const LinkError& e) {
            ++peer->errors;
            // These letters were accepted by send(): nobody can be told with a DeadLetter.
            log().error("node '{}': up to {} letters sent to {} are lost with its link",
                        node_.name(), peer->unflushed.exchange(0), peer->who());
            node_.peers().drop(peer, e.what());
        }
    }
    links.clear();
    // Kept for the next turn unless a burst made it large.
    if (links.capacity() <= 16) links.swap(this_thread_turn.links);
}

void LinkSender::send(const EnvelopeHeader& header, const Body& body,
                      const std::shared_ptr<PeerLink>& peer, bool names_checked) {
    if (peer->broken) {
        node_.dead_letter(letter_from(header), ErrorCode::link_failed,
                          "the link to " + peer->who() + " is closed");
        return;
    }
    SendBuffer buffer;
    auto& frame = buffer.bytes;
    auto& parts = buffer.parts;  // large ranges of the message, sent from where they are
    std::vector<int> fds;        // borrowed from the body, which closes them when it goes
    // Every letter but an answer and the framework's own counts against the link's credit.
    EnvelopeHeader sent = header;
    const bool credited =
        (header.flags & envelope_flags::reply) == 0 && !is_framework_type(header.type);
    sent.flags = static_cast<std::uint8_t>((header.flags & envelope_flags::known) &
                                           ~envelope_flags::credited);
    if (credited) sent.flags |= envelope_flags::credited;
    if (names_checked)
        encode_envelope_header(sent, 0, frame, NamesChecked{});
    else
        encode_envelope_header(sent, 0, frame);
    std::size_t payload_start = frame.size();
    body.encode(frame, fds, &parts);
    const std::size_t size = frame.size() + parts.size();  // the whole frame on the wire
    patch_payload_length(frame, size - payload_start);
    if (!fds.empty() && !peer->link->capabilities().fd_passing) {
        refuse_fds(header, fds.size(), peer);  // the message is refused, not the link
        return;
    }
    if (credited && !peer->credit.take(size) && !waited_for_credit(size, peer)) [[unlikely]] {
        hold(sent, frame, parts, fds, peer);
        return;
    }
    // Inside a turn the link may keep the frame; the turn's end flushes it.
    const bool more = this_thread_turn.sender == this;
    try {
        if (parts.empty()) {
            peer->link->send(frame, fds, header.priority, more);
        } else {
            parts.lay_out(frame, buffer.pieces);
            peer->link->send_parts(buffer.pieces, fds, header.priority, more);
        }
        // Until it is answered, the link's failure is the request's.
        if (header.flags & envelope_flags::request) [[unlikely]]
            node_.requests().sent_over(header, peer);
        if (more) {
            ++peer->unflushed;
            auto& links = this_thread_turn.links;
            auto used = std::find_if(links.begin(), links.end(),
                                     [&](const TurnLink& l) { return l.peer == peer; });
            if (used == links.end()) used = links.insert(links.end(), TurnLink{peer});
            ++used->frames;
            used->bytes += size;
        } else {
            peer->unflushed = 0;
            node_.counters().sent_remote.fetch_add(1, std::memory_order_relaxed);
            peer->frames_sent.fetch_add(1, std::memory_order_relaxed);
            peer->bytes_sent.fetch_add(size, std::memory_order_relaxed);
        }
    } catch (const LinkError& e) {
        ++peer->errors;
        if (auto lost = peer->unflushed.exchange(0); lost > 0) {
            log().error(
                "node '{}': up to {} letters sent earlier to {} are lost with "
                "its link",
                node_.name(), lost, peer->who());
        }
        node_.peers().drop(peer, e.what());
        node_.dead_letter(letter_from(header), ErrorCode::link_failed,
                          "the link to " + peer->who() + " failed: " + e.what());
    }
}

void LinkSender::refuse_fds(const EnvelopeHeader& header, std::size_t count,
                            const std::shared_ptr<PeerLink>& peer) {
    std::string reason = cannot_carry_fds(header.type, count, *peer);
    Letter letter = letter_from(header);
    node_.dead_letter(letter, ErrorCode::unsupported, reason);
    if (!letter.is_reply()) return;
    // The requester learns why instead of timing out.
    Letter answer =
        make_letter(DeadLetter{letter.sender, letter.type, ErrorCode::unsupported, reason},
                    std::string(), letter.recipient);
    answer.flags = envelope_flags::reply;
    answer.correlation = letter.correlation;
    send(header_of(answer), *answer.body, peer);
}

// ---- Credit -------------------------------------------------------------------------

bool LinkSender::waited_for_credit(std::size_t bytes, const std::shared_ptr<PeerLink>& peer) {
    // A consumer that keeps up grants within a round trip, and a letter kept in the outbox
    // costs its sender more than the wait: an actor's turn waits that long for credit
    // (then its letters go to the outbox, and it is parked after the turn), unless the
    // peer granted nothing through many such waits (ActorCell::may_wait_for_credit).
    constexpr auto credit_wait = std::chrono::milliseconds(1);
    if (!ActorCell::may_wait_for_credit(*peer)) return false;
    flush();  // what the turn sent so far must reach the peer, or nothing comes back
    if (peer->credit.wait(credit_wait) && peer->credit.take(bytes)) return true;
    ActorCell::waited_for_credit_in_vain(*peer);
    return false;
}

void LinkSender::hold(const EnvelopeHeader& header, std::span<const std::byte> frame,
                      const ExternalParts& parts, std::span<const int> fds,
                      const std::shared_ptr<PeerLink>& peer) {
    LinkCredit::Held held;
    // It waits longer than the message lives: a copy, into memory that drain() gives back.
    held.frame = BufferPool::frames().take(frame.size() + parts.size());
    parts.join(frame, held.frame);
    held.priority = header.priority;
    // The body closes its descriptors when it goes, and the letter waits longer than that.
    for (int fd : fds) {
        Fd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
        if (!copy) {
            node_.dead_letter(letter_from(header), ErrorCode::link_failed,
                              "cannot keep a descriptor of the letter while it waits for "
                              "credit: " +
                                  std::string(std::strerror(errno)));
            return;
        }
        held.fds.push_back(std::move(copy));
    }
    // Until it is answered, the link's failure is the request's.
    if (header.flags & envelope_flags::request) node_.requests().sent_over(header, peer);
    ActorCell::wait_for_credit(peer);
    if (peer->credit.hold(std::move(held))) drain(peer);
}

void LinkSender::drain(const std::shared_ptr<PeerLink>& peer) {
    std::lock_guard lock(peer->credit.drain_mutex());
    HeldList list;
    auto& go = list.held;
    for (peer->credit.sendable(go); !go.empty(); give_back(go), peer->credit.sendable(go)) {
        std::uint64_t bytes = 0;
        std::size_t sent = 0;
        std::vector<int> fds;
        try {
            if (peer->broken) throw LinkError("the link to " + peer->who() + " is closed");
            for (; sent < go.size(); ++sent) {
                fds.clear();
                for (const auto& fd : go[sent].fds) fds.push_back(fd.get());
                peer->link->send(go[sent].frame, fds, go[sent].priority, /*more=*/true);
                bytes += go[sent].frame.size();
            }
            peer->link->flush();
        } catch (const LinkError& e) {
            ++peer->errors;
            if (sent > 0)
                log().error("node '{}': up to {} letters sent to {} are lost with its link",
                            node_.name(), sent, peer->who());
            // Those not written yet go back to their senders, as the rest of the outbox does
            // (Peers::drop).
            for (auto held = go.begin() + static_cast<std::ptrdiff_t>(sent); held != go.end();
                 ++held)
                if (auto view = decode_envelope(held->frame))
                    node_.dead_letter(letter_from(view->header), ErrorCode::link_failed,
                                      "the link to " + peer->who() + " failed: " + e.what());
            node_.peers().drop(peer, e.what());
            break;
        }
        node_.counters().sent_remote.fetch_add(go.size(), std::memory_order_relaxed);
        peer->frames_sent.fetch_add(go.size(), std::memory_order_relaxed);
        peer->bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
    }
    peer->credit.drained();
}

void LinkSender::returned(const std::shared_ptr<PeerLink>& peer, std::uint64_t letters,
                          std::uint64_t bytes, bool here) noexcept {
    if (!peer || peer->broken) return;
    try {
        auto grant = peer->credit.consumed(letters, bytes);
        if (!grant) return;
        if (here)
            send_grant(peer, *grant);
        else
            node_.scheduler().post([this, peer, g = *grant] { send_grant(peer, g); });
    } catch (const std::exception& e) {  // memory for the task: the link would stall
        log().error("node '{}': cannot grant credit to {}: {}; closing the link", node_.name(),
                    peer->who(), e.what());
        node_.peers().drop(peer, "cannot grant credit");
    }
}

void LinkSender::send_grant(const std::shared_ptr<PeerLink>& peer, const Credit& grant) noexcept {
    if (peer->broken) return;
    try {
        EnvelopeHeader header;
        header.type = type_id_of<Credit>();
        header.recipient = node_service_name;
        SendBuffer buffer;
        auto& frame = buffer.bytes;
        encode_envelope_header(header, 0, frame);
        const std::size_t payload_start = frame.size();
        encode_payload(grant, frame);
        patch_payload_length(frame, frame.size() - payload_start);
        // Not through a turn's batch: a grant is never held back.
        peer->link->send(frame);
    } catch (const std::exception& e) {
        ++peer->errors;
        node_.peers().drop(peer, e.what());
    }
}

}  // namespace courier::detail
