#pragma once
/// @file
/// courier::Bytes, a message field for a large byte buffer that travels without extra
/// copies.
///
/// What is copied, and what is not:
/// - Made from a `std::vector<std::byte>&&`: the vector is moved in, not copied. Made from
///   a span, a string or a vector lvalue: the bytes are copied once, there. Made by
///   for_overwrite(size): uninitialized memory to fill, not even zeroed.
/// - Moving a Bytes never copies (the data pointer stays); copying one copies its bytes,
///   except a received one, which is read-only and shares its buffer.
/// - Sent to an actor of the same process: the message is moved into the letter and out
///   again, so the handler's Bytes has the sender's data pointer.
/// - Sent over a link: from `part_threshold` bytes on, the bytes go from this buffer into
///   the link (writev on a stream, a copy into the shm ring) as a part of the frame of
///   their own, not through the frame's buffer; smaller ones are copied into it.
/// - Received over a link: from `part_threshold` bytes on, the Bytes views the received
///   frame's buffer and keeps it alive (shares_buffer()), no copy; smaller ones are copied
///   out of the frame.
///
/// On the wire (and in any Cereal binary archive) a Bytes is what a std::string of the
/// same bytes is: its size as a u64, then the bytes.

#include <courier/serialization/payload_archive.hpp>
#include <courier/spare_blocks.hpp>

#include <cereal/cereal.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier {

class Bytes {
  public:
    /// From this many bytes on, a Bytes is a part of the frame of its own when sent, and
    /// views the received frame when decoded. Below it a copy is cheaper than what a part
    /// costs (an iovec, or a reference count and a control block on the receiving side,
    /// which also keeps the whole received buffer alive): 16 KiB are copied in about a
    /// microsecond, and a stream link copies frames below 64 KiB into its batch anyway.
    static constexpr std::size_t part_threshold = std::size_t{16} << 10;

    Bytes() noexcept = default;
    /// Takes the vector's memory: no copy.
    explicit Bytes(std::vector<std::byte>&& bytes) noexcept : owned_(std::move(bytes)) {}
    /// Copies the bytes.
    explicit Bytes(const std::vector<std::byte>& bytes) : owned_(bytes) {}
    explicit Bytes(std::span<const std::byte> bytes) : owned_(bytes.begin(), bytes.end()) {}
    explicit Bytes(std::string_view text)
        : Bytes(std::as_bytes(std::span<const char>(text.data(), text.size()))) {}

    /// `size` bytes that are not initialized, to fill through writable() before the Bytes
    /// is sent or copied: no zero-fill, which a std::vector's resize does first. From
    /// part_threshold on, the block is a spare of the process's stock when one fits, and
    /// goes back to it when the last Bytes sharing it is gone (spare_blocks.hpp): one large
    /// message after another reuses memory already written, without page faults.
    static Bytes for_overwrite(std::size_t size) {
        std::shared_ptr<std::byte[]> block;
        if (size >= part_threshold) {
            auto spare = detail::take_block(size);
            // The deleter runs if making the control block throws: the block goes back.
            block = std::shared_ptr<std::byte[]>(spare.bytes.release(), GiveBack{spare.capacity});
        } else {
            block = std::make_shared_for_overwrite<std::byte[]>(size);
        }
        Bytes made;
        made.view_ = {block.get(), size};
        made.owner_ = std::move(block);
        made.writable_ = true;
        return made;
    }
    /// The bytes of a for_overwrite() Bytes, to fill; empty for any other.
    std::span<std::byte> writable() noexcept {
        if (!writable_) return {};
        return {const_cast<std::byte*>(view_.data()), view_.size()};  // its own block
    }

    /// Bytes that view `bytes`, kept where they are by `owner` (a received frame's buffer)
    /// for as long as this Bytes or a copy of it lives. For decoders.
    static Bytes shared(std::shared_ptr<const void> owner, std::span<const std::byte> bytes) {
        Bytes viewing;
        viewing.owner_ = std::move(owner);
        viewing.view_ = bytes;
        return viewing;
    }

    Bytes(Bytes&& other) noexcept
        : owned_(std::move(other.owned_)),
          owner_(std::move(other.owner_)),
          view_(std::exchange(other.view_, {})),
          writable_(std::exchange(other.writable_, false)) {}
    Bytes& operator=(Bytes&& other) noexcept {
        owned_ = std::move(other.owned_);
        owner_ = std::move(other.owner_);
        view_ = std::exchange(other.view_, {});
        writable_ = std::exchange(other.writable_, false);
        return *this;
    }
    /// Copies the bytes, or shares the buffer of a received Bytes (read-only). A
    /// for_overwrite() one is copied: its owner may still write to it.
    Bytes(const Bytes& other) {
        if (other.shares_buffer()) {
            owner_ = other.owner_;
            view_ = other.view_;
        } else {
            owned_.assign(other.begin(), other.end());
        }
    }
    Bytes& operator=(const Bytes& other) {
        if (this != &other) *this = Bytes(other);
        return *this;
    }

    const std::byte* data() const noexcept { return owner_ ? view_.data() : owned_.data(); }
    std::size_t size() const noexcept { return owner_ ? view_.size() : owned_.size(); }
    bool empty() const noexcept { return size() == 0; }
    std::span<const std::byte> span() const noexcept { return {data(), size()}; }
    const std::byte* begin() const noexcept { return data(); }
    const std::byte* end() const noexcept { return data() + size(); }
    /// The bytes as text (a copy).
    std::string to_string() const {
        return std::string(reinterpret_cast<const char*>(data()), size());
    }

    /// True when the bytes are a received frame's, shared rather than copied out of it.
    bool shares_buffer() const noexcept { return owner_ && !writable_; }
    /// The bytes as a vector of their own, to change them: moved out when this Bytes owns
    /// them (no copy), copied when it shares a received buffer. Empty afterwards.
    std::vector<std::byte> release() && {
        std::vector<std::byte> out;
        if (owner_)
            out.assign(view_.begin(), view_.end());
        else
            out = std::move(owned_);
        *this = Bytes();
        return out;
    }

    friend bool operator==(const Bytes& a, const Bytes& b) noexcept {
        return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
    }

  private:
    /// Gives a for_overwrite() block back to the stock.
    struct GiveBack {
        std::size_t capacity;
        void operator()(std::byte* bytes) const noexcept {
            detail::give_block({std::unique_ptr<std::byte[]>(bytes), capacity});
        }
    };

    std::vector<std::byte> owned_;       ///< the bytes, unless owner_ is set
    std::shared_ptr<const void> owner_;  ///< keeps a received buffer that view_ lies in
    std::span<const std::byte> view_;
    bool writable_ = false;  ///< owner_ is this Bytes' own block (for_overwrite)
};

// ---- Cereal ------------------------------------------------------------------------------

/// courier's payloads: a large Bytes becomes a part of the frame of its own (sent) or a
/// view of the frame (received) when the archive allows it (payload_archive.hpp).
void CEREAL_SAVE_FUNCTION_NAME(PayloadOutputArchive& archive, const Bytes& bytes);
void CEREAL_LOAD_FUNCTION_NAME(PayloadInputArchive& archive, Bytes& bytes);

/// Any other Cereal binary archive: the size, then the bytes, as a std::string.
template <class Archive>
void CEREAL_SAVE_FUNCTION_NAME(Archive& archive, const Bytes& bytes) {
    archive(cereal::make_size_tag(static_cast<cereal::size_type>(bytes.size())));
    archive(cereal::binary_data(bytes.data(), bytes.size()));
}

template <class Archive>
void CEREAL_LOAD_FUNCTION_NAME(Archive& archive, Bytes& bytes) {
    cereal::size_type size = 0;
    archive(cereal::make_size_tag(size));
    std::vector<std::byte> read(static_cast<std::size_t>(size));
    archive(cereal::binary_data(read.data(), read.size()));
    bytes = Bytes(std::move(read));
}

}  // namespace courier
