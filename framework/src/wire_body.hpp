#pragma once
/// @file
/// The body of a letter that arrived over a link: the frame's bytes and descriptors, until
/// a handler decodes them (open_letter, through Body::wire).

#include "block_pool.hpp"

#include <courier/framework/detail/body.hpp>
#include <courier/transports/buffer_pool.hpp>
#include <courier/transports/frame.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace courier::detail {

/// The payload of a letter that arrived over a link: the frame's bytes (a buffer of its
/// own, or its share of a packed chunk), where in them the payload lies, and the
/// descriptors that came with it, until a handler decodes them.
///
/// Nothing of it is allocated per letter in steady state: it lives in its letter, and the
/// frame's buffer goes back to BufferPool::frames() when the body dies (or the chunk's,
/// with its last frame).
///
/// A large Bytes decoded from it shares the frame's buffer (keep()): the buffer then lives
/// as long as the last of the body and those Bytes.
class WireBody final : public Body, public PayloadKeeper {
  public:
    /// Takes `frame`'s bytes and descriptors; `payload` lies within its bytes.
    WireBody(Frame&& frame, std::span<const std::byte> payload) noexcept
        : bytes_(std::move(frame.bytes)),
          shared_(std::move(frame.shared)),
          payload_(payload),  // still valid: moving a vector keeps its heap block
          fds_(std::move(frame.fds)) {}
    WireBody(WireBody&&) noexcept = default;  // the payload stays where it is, on the heap
    ~WireBody() override {
        if (bytes_.capacity() != 0) BufferPool::frames().give(std::move(bytes_));
    }

    bool is_local() const noexcept override { return false; }
    bool wire(WirePayload& out) noexcept override {
        out.bytes = payload_;
        out.fds = fds_;
        out.keeper = this;
        return true;
    }
    /// Shares the frame's buffer from now on (moved into a SharedBytes if it was the
    /// frame's own: its bytes stay where they are, so payload_ stays valid). The
    /// reference's control block comes from a pool: no allocation per large message.
    std::shared_ptr<const void> keep() override {
        if (!shared_) shared_ = SharedBytes(std::move(bytes_));
        return std::allocate_shared<const SharedBytes>(PooledAllocator<SharedBytes>{}, shared_);
    }
    /// Forwards the payload as it came; its descriptor indexes stay valid because the
    /// descriptors go in the same order.
    void encode(std::vector<std::byte>& out, std::vector<int>& fds,
                ExternalParts* /*parts*/) const override {
        out.insert(out.end(), payload_.begin(), payload_.end());
        for (const auto& fd : fds_) fds.push_back(fd.get());
    }
    Body* relocate(void* storage) noexcept override { return move_to(*this, storage); }
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

static_assert(LetterBody::fits<WireBody>, "every body from a link lives in its letter");

}  // namespace courier::detail
