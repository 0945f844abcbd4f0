#pragma once
/// @file
/// Sending letters to other nodes, and the one rule for when they leave.
///
/// A letter for another node is encoded straight from its envelope header and its body
/// (a Draft still on the sender's stack, or a letter's own) into this thread's frame
/// buffer and handed to the peer's link. The rule for when frames leave is here and
/// nowhere else: while a Turn is open on the thread (an actor's turn, ActorCell::run),
/// sends pass `more` to their links, which may keep the frames (a stream's buffer, a
/// packed chunk, an shm record not yet signalled); the turn's end, or flush() before a
/// handler blocks, flushes every link the turn used. Outside a turn each send goes at
/// once. The links only obey: a frame sent without `more`, or flush(), goes out.

#include "peer_link.hpp"

#include <courier/framework/detail/body.hpp>
#include <courier/framework/detail/letter.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace courier {
class ExternalParts;
}

namespace courier::detail {

class NodeCore;

class LinkSender {
  public:
    explicit LinkSender(NodeCore& node) noexcept : node_(node) {}

    /// Encodes the message `header` addresses, its body `body`, and sends it over `peer`.
    /// `names_checked`: the caller knows both names to be valid, so the envelope does not
    /// check them again. A failure becomes a dead letter to the sender.
    void send(const EnvelopeHeader& header, const Body& body, const std::shared_ptr<PeerLink>& peer,
              bool names_checked = false);

    /// While one lives on a thread, that thread's sends through this node may wait in
    /// their links; when it ends it flushes every link they went to. A link whose flush
    /// fails is dropped. Nested turns are part of the outer one.
    class Turn {
      public:
        explicit Turn(LinkSender& sender) noexcept;
        ~Turn();
        Turn(const Turn&) = delete;
        Turn& operator=(const Turn&) = delete;

      private:
        bool active_;  ///< false when nested in a turn already open on this thread
    };
    /// Flushes the links this thread's open turn sent to (before a handler blocks).
    void flush() noexcept;

    // ---- Credit (link_credit.hpp) ----

    /// Sends what `peer`'s outbox may send now, in order; its senders go on once it is
    /// empty. On a thread that may block on the link: a worker, a thread outside the node.
    void drain(const std::shared_ptr<PeerLink>& peer);
    /// This node took `letters` letters of `bytes` bytes that came over `peer` (handled,
    /// refused, dropped, bounced): their credit goes back to the peer when a grant is due.
    /// The grant is sent from this thread if `here` (a worker, at the end of a turn), else
    /// from a worker soon (this may be the reactor's thread, which must never block).
    void returned(const std::shared_ptr<PeerLink>& peer, std::uint64_t letters, std::uint64_t bytes,
                  bool here) noexcept;
    /// Sends `peer` the grant due now, if any (the first one, as a link opens).
    void grant_due(const std::shared_ptr<PeerLink>& peer) noexcept {
        returned(peer, 0, 0, /*here=*/false);
    }

  private:
    /// For a letter that found no credit: an actor's turn may wait a moment for some (true:
    /// taken, the letter goes now).
    bool waited_for_credit(std::size_t bytes, const std::shared_ptr<PeerLink>& peer);
    /// Keeps a letter that has no credit yet in `peer`'s outbox, a copy of `frame` with
    /// its `parts`; the actor sending it is parked after its turn.
    void hold(const EnvelopeHeader& header, std::span<const std::byte> frame,
              const ExternalParts& parts, std::span<const int> fds,
              const std::shared_ptr<PeerLink>& peer);
    /// Sends a grant of credit to `peer`, at once (never held back).
    void send_grant(const std::shared_ptr<PeerLink>& peer, const Credit& grant) noexcept;
    /// Refuses a letter holding descriptors that `peer` cannot carry: a dead letter, and
    /// for a reply, the requester is told why instead of timing out.
    void refuse_fds(const EnvelopeHeader& header, std::size_t count,
                    const std::shared_ptr<PeerLink>& peer);

    NodeCore& node_;
};

/// The envelope header of `letter`, its names viewing the letter's.
inline EnvelopeHeader header_of(const Letter& letter) noexcept {
    return EnvelopeHeader{letter.flags,       letter.priority, letter.type,
                          letter.correlation, letter.sender,   letter.recipient};
}

/// A letter addressed as `header`, with no body: what a dead letter needs.
inline Letter letter_from(const EnvelopeHeader& header) {
    Letter letter;
    address(letter, header);
    return letter;
}

}  // namespace courier::detail
