#pragma once
/// @file
/// A letter: one message in a mailbox, with where it came from. A message sent inside
/// the process keeps its C++ object (no serialization); one that came over a link keeps
/// its frame, descriptors included, and is decoded by the handler that takes it. Either
/// way the letter owns the message's descriptors: one dropped anywhere closes them.
///
/// Internal (namespace detail): here only because the templates of actor.hpp and node.hpp
/// make and open letters in the user's code.

#include <courier/framework/detail/body.hpp>
#include <courier/serialization/codec.hpp>
#include <courier/serialization/message_type.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace courier::detail {

struct PeerLink;  // a link to another node, owned by the node

struct Letter {
    TypeId type = 0;
    std::uint8_t flags = 0;  ///< envelope_flags: request, reply
    std::uint8_t priority = 0;
    /// What it counts against its mailbox's byte limit: its frame's size if it came over
    /// a link, else 0 (set by the mailbox).
    std::uint32_t bytes = 0;
    std::uint64_t correlation = 0;
    std::string sender;                ///< the sending actor's name; empty when anonymous
    std::string recipient;             ///< the name it was sent to
    std::shared_ptr<PeerLink> origin;  ///< the link it came over; null if local
    LetterBody body;

    bool is_request() const noexcept { return (flags & envelope_flags::request) != 0; }
    bool is_reply() const noexcept { return (flags & envelope_flags::reply) != 0; }
};

/// Sets a fresh letter's envelope fields from `header`, names copied.
inline void address(Letter& letter, const EnvelopeHeader& header) {
    letter.type = header.type;
    letter.flags = header.flags;
    letter.priority = header.priority;
    letter.correlation = header.correlation;
    letter.sender.append(header.sender);  // fresh: append skips assign's overlap checks
    letter.recipient.append(header.recipient);
}

/// A letter of type T whose body is still to come (a Draft's). The names are copied into
/// the letter once: building them as strings first and moving them in costs a second copy
/// of each short name (a short string's move copies its characters).
template <Message T>
Letter letter_of(std::string_view sender, std::string_view recipient) {
    Letter letter;
    letter.type = type_id_of<T>();
    letter.sender.append(sender);  // fresh: append skips assign's overlap checks
    letter.recipient.append(recipient);
    return letter;
}

/// The body of a letter being sent, still on the sender's stack: the node routes the
/// letter first, then encodes the message straight into the frame when the letter leaves
/// the process, or moves it into a body of the letter's own (detach) when it stays. So a
/// send over a link builds no body at all.
class Draft : public Body {
  public:
    /// Moves the message into `into`, the body of a letter that stays in the process.
    virtual void detach(LetterBody& into) = 0;
};

/// A draft of `message`, which must outlive it (the sender's by-value parameter).
template <Message T>
class DraftOf final : public Draft {
  public:
    explicit DraftOf(T& message) noexcept : message_(message) {}
    bool is_local() const noexcept override { return true; }
    void encode(std::vector<std::byte>& out, std::vector<int>& fds,
                ExternalParts* parts) const override {
        if (parts)
            encode_payload(message_, out, fds, *parts);
        else
            encode_payload(message_, out, fds);
    }
    void detach(LetterBody& into) override { into.emplace<LocalBody<T>>(std::move(message_)); }
    Body* relocate(void* storage) noexcept override { return move_to(*this, storage); }

  private:
    T& message_;
};

/// Makes a letter carrying a local object of type T.
template <Message T>
Letter make_letter(T message, std::string sender, std::string recipient) {
    Letter letter;
    letter.type = type_id_of<T>();
    letter.sender = std::move(sender);
    letter.recipient = std::move(recipient);
    letter.body.emplace<LocalBody<T>>(std::move(message));
    return letter;
}

/// The T in a letter of T's type: moved out of a local body, decoded from a wire body
/// (taking the descriptors its Fd fields name).
template <Message T>
Expected<T, DecodeError> open_letter(Letter& letter) {
    WirePayload wire;
    if (!letter.body->wire(wire)) return std::move(static_cast<LocalBody<T>&>(*letter.body).value);
    return decode_payload<T>(wire.bytes, wire.fds, wire.keeper);
}

}  // namespace courier::detail
