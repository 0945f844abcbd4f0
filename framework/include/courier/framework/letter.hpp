#pragma once
/// @file
/// A letter: one message in a mailbox, with where it came from. A message sent inside
/// the process keeps its C++ object (no serialization); one that came over a link keeps
/// its frame and is decoded by the handler that takes it.

#include <courier/serialization/codec.hpp>
#include <courier/serialization/message_type.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace courier {

namespace detail {
struct PeerLink;  // a link to another node, owned by the node
}

/// The content of a letter: a local object or bytes from a link.
class Body {
  public:
    virtual ~Body() = default;
    /// True when the body holds the C++ object of the letter's type (sent in-process).
    virtual bool is_local() const noexcept = 0;
    /// Appends the Cereal payload, for a letter that must leave the process.
    virtual void encode(std::vector<std::byte>& out) const = 0;
};

template <Message T>
class LocalBody final : public Body {
  public:
    explicit LocalBody(T v) : value(std::move(v)) {}
    bool is_local() const noexcept override { return true; }
    void encode(std::vector<std::byte>& out) const override { encode_payload(value, out); }
    T value;
};

/// The payload of a letter that arrived over a link: the whole frame, and where in it
/// the payload lies.
class WireBody final : public Body {
  public:
    WireBody(std::vector<std::byte> frame, std::size_t offset, std::size_t size)
        : frame_(std::move(frame)), offset_(offset), size_(size) {}
    bool is_local() const noexcept override { return false; }
    void encode(std::vector<std::byte>& out) const override {
        auto p = payload();
        out.insert(out.end(), p.begin(), p.end());
    }
    std::span<const std::byte> payload() const noexcept {
        return std::span<const std::byte>(frame_).subspan(offset_, size_);
    }

  private:
    std::vector<std::byte> frame_;
    std::size_t offset_, size_;
};

struct Letter {
    TypeId type = 0;
    std::uint8_t flags = 0;  ///< envelope_flags: request, reply
    std::uint8_t priority = 0;
    std::uint64_t correlation = 0;
    std::string sender;                        ///< the sending actor's name; empty when anonymous
    std::string recipient;                     ///< the name it was sent to
    std::shared_ptr<detail::PeerLink> origin;  ///< the link it came over; null if local
    std::unique_ptr<Body> body;

    bool is_request() const noexcept { return (flags & envelope_flags::request) != 0; }
    bool is_reply() const noexcept { return (flags & envelope_flags::reply) != 0; }
};

/// Makes a letter carrying a local object of type T.
template <Message T>
Letter make_letter(T message, std::string sender, std::string recipient) {
    Letter letter;
    letter.type = type_id_of<T>();
    letter.sender = std::move(sender);
    letter.recipient = std::move(recipient);
    letter.body = std::make_unique<LocalBody<T>>(std::move(message));
    return letter;
}

/// The T in a letter of T's type: moved out of a local body, decoded from a wire body.
template <Message T>
Expected<T, DecodeError> open_letter(Letter& letter) {
    if (letter.body->is_local()) return std::move(static_cast<LocalBody<T>&>(*letter.body).value);
    return decode_payload<T>(static_cast<const WireBody&>(*letter.body).payload());
}

}  // namespace courier
