#pragma once
/// @file
/// A letter: one message in a mailbox, with where it came from. A message sent inside
/// the process keeps its C++ object (no serialization); one that came over a link keeps
/// its frame, descriptors included, and is decoded by the handler that takes it. Either
/// way the letter owns the message's descriptors: one dropped anywhere closes them.

#include <courier/fd.hpp>
#include <courier/serialization/codec.hpp>
#include <courier/serialization/message_type.hpp>
#include <courier/transports/buffer_pool.hpp>
#include <courier/transports/frame.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace courier {

namespace detail {
struct PeerLink;  // a link to another node, owned by the node
}

/// The content of a letter: a local object or bytes from a link.
///
/// One is made and freed for every letter, mostly on two different threads, so its storage
/// comes from pools of blocks of a few sizes (body_storage.cpp) rather than from malloc:
/// in steady state a letter allocates nothing.
class Body {
  public:
    virtual ~Body() = default;
    static void* operator new(std::size_t size);
    static void operator delete(void* storage, std::size_t size) noexcept;
    /// True when the body holds the C++ object of the letter's type (sent in-process).
    virtual bool is_local() const noexcept = 0;
    /// Appends the Cereal payload, for a letter that must leave the process, and the
    /// descriptors to send with it to `fds` (borrowed: the body owns them until sent).
    virtual void encode(std::vector<std::byte>& out, std::vector<int>& fds) const = 0;
};

template <Message T>
class LocalBody final : public Body {
  public:
    explicit LocalBody(T v) : value(std::move(v)) {}
    bool is_local() const noexcept override { return true; }
    void encode(std::vector<std::byte>& out, std::vector<int>& fds) const override {
        encode_payload(value, out, fds);
    }
    T value;
};

/// The payload of a letter that arrived over a link: the frame's bytes (a buffer of its
/// own, or its share of a packed chunk), where in them the payload lies, and the
/// descriptors that came with it, until a handler decodes them.
///
/// Nothing of it is allocated per letter in steady state: the frame's buffer goes back to
/// BufferPool::frames() when the body dies (or the chunk's, with its last frame), and
/// the body's own storage is recycled like every body's.
class WireBody final : public Body {
  public:
    /// Takes `frame`'s bytes and descriptors; `payload` lies within its bytes.
    WireBody(Frame&& frame, std::span<const std::byte> payload) noexcept
        : bytes_(std::move(frame.bytes)),
          shared_(std::move(frame.shared)),
          payload_(payload),  // still valid: moving a vector keeps its heap block
          fds_(std::move(frame.fds)) {}
    ~WireBody() override {
        if (bytes_.capacity() != 0) BufferPool::frames().give(std::move(bytes_));
    }
    WireBody(const WireBody&) = delete;
    WireBody& operator=(const WireBody&) = delete;

    bool is_local() const noexcept override { return false; }
    /// Forwards the payload as it came; its descriptor indexes stay valid because the
    /// descriptors go in the same order.
    void encode(std::vector<std::byte>& out, std::vector<int>& fds) const override {
        out.insert(out.end(), payload_.begin(), payload_.end());
        for (const auto& fd : fds_) fds.push_back(fd.get());
    }
    std::span<const std::byte> payload() const noexcept { return payload_; }
    /// The frame's descriptors; decoding takes those the payload names, the rest close
    /// with the body.
    std::span<Fd> fds() noexcept { return fds_; }

  private:
    std::vector<std::byte> bytes_;
    SharedBytes shared_;
    std::span<const std::byte> payload_;
    std::vector<Fd> fds_;
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

namespace detail {

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
    /// Moves the message into a heap body, for a letter that stays in the process.
    virtual std::unique_ptr<Body> detach() = 0;
};

/// A draft of `message`, which must outlive it (the sender's by-value parameter).
template <Message T>
class DraftOf final : public Draft {
  public:
    explicit DraftOf(T& message) noexcept : message_(message) {}
    bool is_local() const noexcept override { return true; }
    void encode(std::vector<std::byte>& out, std::vector<int>& fds) const override {
        encode_payload(message_, out, fds);
    }
    std::unique_ptr<Body> detach() override {
        return std::make_unique<LocalBody<T>>(std::move(message_));
    }

  private:
    T& message_;
};

}  // namespace detail

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

/// The T in a letter of T's type: moved out of a local body, decoded from a wire body
/// (taking the descriptors its Fd fields name).
template <Message T>
Expected<T, DecodeError> open_letter(Letter& letter) {
    if (letter.body->is_local()) return std::move(static_cast<LocalBody<T>&>(*letter.body).value);
    auto& wire = static_cast<WireBody&>(*letter.body);
    return decode_payload<T>(wire.payload(), wire.fds());
}

}  // namespace courier
