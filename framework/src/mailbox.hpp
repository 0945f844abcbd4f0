#pragma once
/// @file
/// Where the letters for a name of this node go: an actor's cell (actor_cell.hpp), or the
/// waiter of a thread outside the actors that blocks on a reply (requests.hpp).

#include <courier/framework/detail/letter.hpp>
#include <courier/transports/frame.hpp>

#include <memory>
#include <span>

namespace courier::detail {

struct PeerLink;

class Mailbox {
  public:
    virtual ~Mailbox() = default;
    /// Takes the letter; never blocks (mailboxes are unbounded for now).
    virtual void deliver(Letter&& letter) = 0;
    /// Takes the letter of a frame that arrived over `origin`: its envelope (`header`,
    /// views into the frame), the frame, and where in it the payload lies.
    virtual void deliver(const EnvelopeHeader& header, Frame&& frame,
                         std::span<const std::byte> payload,
                         const std::shared_ptr<PeerLink>& origin);
};

/// The framework's letters that travel (DeadLetter, Failure, Down, Up, ChildFailed): a
/// full mailbox takes them anyway, and a link never holds them back for credit.
bool is_framework_type(TypeId type) noexcept;
/// Letters the framework posts to itself (start, stop, a request's timeout); never bounced
/// to anyone, never on a link.
bool is_internal_type(TypeId type) noexcept;
/// A letter a full mailbox takes anyway, whatever its policy, and never drops: the
/// framework's own (they are few, and an actor must learn that its requests failed or
/// what it monitors went down).
inline bool is_framework_letter(const Letter& letter) noexcept {
    return is_internal_type(letter.type) || is_framework_type(letter.type);
}

/// Internal letter types, never on a link.
inline constexpr TypeId start_type = type_id_from_name("courier.internal.Start");
inline constexpr TypeId stop_type = type_id_from_name("courier.internal.Stop");

}  // namespace courier::detail
