#pragma once
/// @file
/// The content of a letter: the C++ object of a message sent inside the process, or the
/// frame of one that came over a link. A letter carries its body in itself when it fits
/// (every body from a link, and most messages sent in the process), so handing a letter
/// from one thread to another hands no separate block of memory along with it.
///
/// Internal: here only because the templates of actor.hpp and node.hpp make and open
/// bodies in the user's code. The body of a letter from a link (WireBody) is in
/// framework/src/wire_body.hpp.

#include <courier/fd.hpp>
#include <courier/serialization/codec.hpp>
#include <courier/serialization/message_type.hpp>

#include <cstddef>
#include <exception>
#include <new>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace courier::detail {

/// The payload of a letter that came over a link, and the descriptors that came with it.
struct WirePayload {
    std::span<const std::byte> bytes;
    std::span<Fd> fds;
    /// Keeps `bytes` alive for decoded values that view them (a large Bytes).
    PayloadKeeper* keeper = nullptr;
};

/// The content of a letter: a local object or bytes from a link.
class Body {
  public:
    virtual ~Body() = default;
    /// A body too large to live in its letter comes from pools of blocks of a few sizes
    /// (body_storage.cpp) rather than from malloc: it is made on one thread and freed on
    /// another, and malloc is slow at that.
    static void* operator new(std::size_t size);
    static void operator delete(void* storage, std::size_t size) noexcept;
    /// True when the body holds the C++ object of the letter's type (sent in-process).
    virtual bool is_local() const noexcept = 0;
    /// Sets `out` to the payload and descriptors of a body from a link, and says whether it
    /// is one (so open_letter learns both with one call).
    virtual bool wire(WirePayload& out) noexcept {
        (void)out;
        return false;
    }
    /// Appends the Cereal payload, for a letter that must leave the process, and the
    /// descriptors to send with it to `fds` (borrowed: the body owns them until sent).
    /// With `parts`, large byte ranges (Bytes) are left out of `out` and noted there,
    /// borrowed from the body too (ExternalParts).
    virtual void encode(std::vector<std::byte>& out, std::vector<int>& fds,
                        ExternalParts* parts) const = 0;
    /// Moves this body to `storage` and destroys it here; returns the moved body. Only for
    /// a body that lives in its letter (LetterBody::fits), when the letter moves.
    virtual Body* relocate(void* storage) noexcept = 0;

  protected:
    /// relocate() for a body of type B.
    template <class B>
    static Body* move_to(B& body, void* storage) noexcept {
        Body* moved = ::new (storage) B(std::move(body));
        body.~B();
        return moved;
    }
};

template <Message T>
class LocalBody final : public Body {
  public:
    explicit LocalBody(T v) : value(std::move(v)) {}
    bool is_local() const noexcept override { return true; }
    void encode(std::vector<std::byte>& out, std::vector<int>& fds,
                ExternalParts* parts) const override {
        if (parts)
            encode_payload(value, out, fds, *parts);
        else
            encode_payload(value, out, fds);
    }
    Body* relocate(void* storage) noexcept override {
        if constexpr (std::is_nothrow_move_constructible_v<T>)
            return move_to(*this, storage);
        else
            std::terminate();  // never: LetterBody keeps such a body out of the letter
    }
    T value;
};

/// A letter's body, owned: in the letter's own storage when it fits, else in a pooled
/// block. Moving the letter moves a body that lives in it (Body::relocate).
class LetterBody {
  public:
    /// Room in the letter: a WireBody (wire_body.hpp checks it fits), or the LocalBody of a
    /// message of up to 88 bytes (a 64-byte payload and three words). The flag after it
    /// pads to the same size for any room from 81 to 96 bytes.
    static constexpr std::size_t room = 96;
    /// Whether a body of type B lives in its letter.
    template <class B>
    static constexpr bool fits =
        sizeof(B) <= room &&
        alignof(B) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<B>;

    LetterBody() noexcept = default;
    LetterBody(LetterBody&& other) noexcept { take(other); }
    LetterBody& operator=(LetterBody&& other) noexcept {
        if (this != &other) {
            reset();
            take(other);
        }
        return *this;
    }
    ~LetterBody() { reset(); }

    /// Makes the body, a B built from `args`, in place of the one held (if any).
    template <class B, class... Args>
    B& emplace(Args&&... args) {
        reset();
        B* made;
        if constexpr (fits<B>) {
            made = ::new (static_cast<void*>(storage_)) B(std::forward<Args>(args)...);
            in_place_ = true;
        } else {
            made = new B(std::forward<Args>(args)...);
        }
        body_ = made;
        return *made;
    }
    /// Destroys the body; empty afterwards.
    void reset() noexcept {
        if (!body_) return;
        if (in_place_)
            body_->~Body();
        else
            delete body_;
        body_ = nullptr;
        in_place_ = false;
    }

    Body* get() const noexcept { return body_; }
    Body& operator*() const noexcept { return *body_; }
    Body* operator->() const noexcept { return body_; }
    explicit operator bool() const noexcept { return body_ != nullptr; }

  private:
    void take(LetterBody& other) noexcept {
        if (other.in_place_)
            body_ = other.body_->relocate(storage_);
        else
            body_ = other.body_;
        in_place_ = std::exchange(other.in_place_, false);
        other.body_ = nullptr;
    }

    alignas(std::max_align_t) std::byte storage_[room];
    Body* body_ = nullptr;
    bool in_place_ = false;  ///< body_ lives in storage_
};

}  // namespace courier::detail
