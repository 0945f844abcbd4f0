#include "src/fragmenting_link.hpp"

#include <courier/little_endian.hpp>
#include <courier/transports/buffer_pool.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

namespace courier::detail {

namespace {

/// A whole frame in one chunk of at least this many bytes is shared rather than moved down
/// by the chunk's header byte: a holder costs less than moving a kilobyte.
constexpr std::size_t share_above = 1024;

/// Copies `bytes` (of a lent chunk) into a buffer of the chunk's own: it may then be kept.
void own(Frame& chunk, std::span<const std::byte> bytes) {
    chunk.bytes = BufferPool::frames().take(bytes.size());  // the letter gives it back
    chunk.bytes.insert(chunk.bytes.end(), bytes.begin(), bytes.end());
    chunk.view = {};
}

ReceiveStatus failed(std::string reason) {
    return ReceiveStatus{ReceiveStatus::State::failed, std::move(reason)};
}

std::string hex(std::uint8_t byte) {
    static constexpr char digits[] = "0123456789abcdef";
    return std::string("0x") + digits[byte >> 4] + digits[byte & 0xfU];
}

}  // namespace

FragmentingLink::FragmentingLink(std::unique_ptr<Link> inner, const TransportOptions& options)
    : inner_(std::move(inner)),
      limit_(inner_->capabilities().native_frame_limit),
      max_frame_size_(options.max_frame_size),
      pack_limit_(std::min(limit_, max_pack_size)) {
    if (limit_ < min_chunk_limit) {
        throw std::invalid_argument("cannot fragment frames over " + inner_->peer() +
                                    ": its native frame limit of " + std::to_string(limit_) +
                                    " bytes is below the " + std::to_string(min_chunk_limit) +
                                    " bytes a chunk needs");
    }
    lender_ = dynamic_cast<LendingLink*>(inner_.get());
    if (lender_) lender_->start_lending();
}

void FragmentingLink::send(std::span<const std::byte> bytes, std::span<const int> fds,
                           std::uint8_t priority, bool more) {
    send_parts(std::span<const std::span<const std::byte>>(&bytes, 1), fds, priority, more);
}

void FragmentingLink::send_parts(std::span<const std::span<const std::byte>> parts,
                                 std::span<const int> fds, std::uint8_t priority, bool more) {
    std::size_t size = 0;
    for (const auto part : parts) size += part.size();
    if (!fds.empty() && !capabilities().fd_passing) {
        throw LinkError(peer() + ": this transport cannot carry file descriptors");
    }
    if (size > max_frame_size_) {
        throw LinkError(peer() + ": frame of " + std::to_string(size) +
                        " bytes exceeds the limit of " + std::to_string(max_frame_size_) +
                        " bytes (TransportOptions::max_frame_size)");
    }
    std::lock_guard lock(send_mutex_);
    if (!send_broken_.empty()) throw LinkError(peer() + ": link is broken: " + send_broken_);

    // Only a frame of the pack's priority may join it: order holds within a priority.
    const bool packable =
        fds.empty() && chunk_header_size + packed_length_size + size <= pack_limit_;
    if (!pack_.empty() && (!packable || priority != pack_priority_ ||
                           pack_.size() + packed_length_size + size > pack_limit_)) {
        send_pack(true);
    }
    if (packable && (more || !pack_.empty())) {
        add_to_pack(parts, size, priority);
        if (!more) send_pack(false);
        return;
    }

    std::size_t sent = 0;  // bytes of the frame the peer already holds
    try {
        // Each chunk is its header and the pieces of the frame's parts it holds, handed to
        // the inner link as parts: the frame's bytes are copied once, by the inner link
        // (into the shm ring), from wherever the caller has them.
        std::array<std::byte, first_chunk_header_size> header{};
        std::size_t part = 0, offset = 0;  // where the next chunk's bytes start in `parts`
        bool first = true;
        while (first || sent < size) {
            const std::size_t header_size = first && size + chunk_header_size > limit_
                                                ? first_chunk_header_size
                                                : chunk_header_size;
            const std::size_t n = std::min(limit_ - header_size, size - sent);
            const bool last = sent + n == size;
            header[0] = std::byte((first ? chunk_first : 0U) | (last ? chunk_last : 0U));
            if (header_size == first_chunk_header_size)
                store_le<std::uint64_t>(header.data() + 1, size);
            chunk_parts_.assign({std::span<const std::byte>(header).first(header_size)});
            for (std::size_t left = n; left > 0;) {
                const std::size_t take = std::min(left, parts[part].size() - offset);
                chunk_parts_.push_back(parts[part].subspan(offset, take));
                left -= take;
                offset += take;
                if (offset == parts[part].size()) {
                    ++part;
                    offset = 0;
                }
            }
            // Every chunk but the last may wait in the inner link's buffer.
            inner_->send_parts(chunk_parts_, first ? fds : std::span<const int>{}, priority,
                               last ? more : true);
            sent += n;
            first = false;
            // Empty parts between chunks take no room: skip them before the next.
            while (part < parts.size() && offset == parts[part].size()) {
                ++part;
                offset = 0;
            }
        }
    } catch (const LinkError& error) {
        // The peer holds the start of a frame that will never end: no frame can follow.
        if (sent > 0) send_broken_ = error.what();
        throw;
    }
}

void FragmentingLink::flush() {
    std::lock_guard lock(send_mutex_);
    if (pack_.empty()) {
        inner_->flush();
    } else {
        send_pack(false);  // hands over whatever the inner link keeps too
    }
}

void FragmentingLink::add_to_pack(std::span<const std::span<const std::byte>> parts,
                                  std::size_t size, std::uint8_t priority) {
    if (pack_.empty()) {
        pack_.push_back(std::byte{chunk_packed});
        pack_priority_ = priority;
    }
    // Appended, not resized and then written: resize would zero the bytes first.
    std::array<std::byte, packed_length_size> length;
    store_le(length.data(), static_cast<std::uint32_t>(size));
    pack_.insert(pack_.end(), length.begin(), length.end());
    for (const auto part : parts) pack_.insert(pack_.end(), part.begin(), part.end());
}

void FragmentingLink::send_pack(bool more) {
    try {
        const std::size_t first_length = load_le<std::uint32_t>(pack_.data() + chunk_header_size);
        if (pack_.size() == chunk_header_size + packed_length_size + first_length) {
            // A pack of one frame (a lone reply, say) goes as the whole frame it is: the
            // receiver then takes it without sharing a chunk.
            static constexpr std::array<std::byte, 1> whole{std::byte{chunk_first | chunk_last}};
            const std::array<std::span<const std::byte>, 2> parts{
                std::span<const std::byte>(whole),
                std::span<const std::byte>(pack_).subspan(chunk_header_size + packed_length_size)};
            inner_->send_parts(parts, {}, pack_priority_, more);
        } else {
            inner_->send(pack_, {}, pack_priority_, more);
        }
    } catch (const LinkError& error) {
        // The packed frames were accepted by earlier sends and are lost now.
        pack_.clear();
        send_broken_ = error.what();
        throw;
    }
    pack_.clear();
}

ReceiveStatus FragmentingLink::receive(std::vector<Frame>& out) {
    if (ended_) return *ended_;
    chunks_.clear();
    ReceiveStatus status = inner_->receive(chunks_);
    out.reserve(out.size() + chunks_.size());
    for (auto& chunk : chunks_) {
        const auto lent = LendingLink::lent(chunk) ? chunk.view : std::span<const std::byte>{};
        auto reason = take_chunk(chunk, out);
        if (!lent.empty()) lender_->give_back(lent);  // copied, or the link failed
        if (reason) {
            chunks_.clear();
            return finish(failed(peer() + " broke the fragmentation: " + *reason));
        }
        // A whole frame or a pack moved on with its buffer; a piece was copied out of it: spare.
        BufferPool::frames().give(std::move(chunk.bytes));
    }
    chunks_.clear();
    if (status.state == ReceiveStatus::State::closed && !assembling_.empty()) {
        const Assembly& unfinished = assembling_.begin()->second;
        return finish(failed(peer() + " closed the link in the middle of a fragmented frame (got " +
                             std::to_string(unfinished.frame.bytes.size()) + " of " +
                             std::to_string(unfinished.expected) + " bytes)"));
    }
    if (status.state != ReceiveStatus::State::open) return finish(std::move(status));
    return status;
}

std::optional<std::string> FragmentingLink::take_chunk(Frame& chunk, std::vector<Frame>& out) {
    // What the inner link read: usually a buffer of the chunk's own, but a link may hand
    // over chunks that view a buffer they share (Frame::data()) or its own memory (lent).
    // A lent chunk's bytes are read once each: the lender's peer may change them meanwhile.
    const bool lent = LendingLink::lent(chunk);
    const std::span<const std::byte> data = lent ? chunk.view : chunk.data();
    if (data.empty()) return "an empty chunk (no flags byte)";
    if (data.size() > limit_) {
        return "a chunk of " + std::to_string(data.size()) + " bytes, above the native limit of " +
               std::to_string(limit_);
    }
    const auto flags = static_cast<std::uint8_t>(data[0]);
    if ((flags & ~(chunk_first | chunk_last | chunk_packed)) != 0)
        return "a chunk with unknown flags " + hex(flags);
    const bool first = (flags & chunk_first) != 0;
    const bool last = (flags & chunk_last) != 0;
    const auto lane = assembling_.find(chunk.priority);

    if ((flags & chunk_packed) != 0) {
        if (flags != chunk_packed) return "a packed chunk also flagged first or last " + hex(flags);
        if (lane != assembling_.end()) {
            return "a packed chunk came after " + std::to_string(lane->second.frame.bytes.size()) +
                   " of " + std::to_string(lane->second.expected) +
                   " bytes of a fragmented frame (priority " + std::to_string(chunk.priority) + ")";
        }
        if (!chunk.fds.empty()) return "file descriptors on a packed chunk";
        if (lent) own(chunk, data);  // only a pack above max_pack_size is lent: still served
        return take_pack(chunk, out);
    }

    if (first) {
        if (lane != assembling_.end()) {
            return "a new frame began after " + std::to_string(lane->second.frame.bytes.size()) +
                   " of " + std::to_string(lane->second.expected) +
                   " bytes of the previous one (priority " + std::to_string(chunk.priority) + ")";
        }
        if (last) {  // a whole frame in one chunk
            const std::size_t size = data.size() - chunk_header_size;
            if (size > max_frame_size_) {
                return "a frame of " + std::to_string(size) + " bytes, above the limit of " +
                       std::to_string(max_frame_size_) +
                       " bytes (TransportOptions::max_frame_size)";
            }
            if (lent) {  // the frame's one copy out of the lender's memory
                own(chunk, data.subspan(chunk_header_size));
            } else if (!chunk.shared && size < share_above) {
                chunk.bytes.erase(chunk.bytes.begin());  // moves a few bytes
            } else {  // the frame views the chunk past its flags byte instead of moving down
                if (!chunk.shared) chunk.shared = SharedBytes(std::move(chunk.bytes));
                chunk.view = data.subspan(chunk_header_size);
            }
            out.push_back(std::move(chunk));
            return std::nullopt;
        }
        if (data.size() <= first_chunk_header_size) {
            return "a first chunk of " + std::to_string(data.size()) +
                   " bytes, too short for its header and data";
        }
        const std::uint64_t total = load_le<std::uint64_t>(data.data() + 1);
        const std::size_t payload = data.size() - first_chunk_header_size;
        // Checked before anything is allocated for it: a hostile length costs nothing.
        if (total > max_frame_size_) {
            return "announced a frame of " + std::to_string(total) + " bytes, above the limit of " +
                   std::to_string(max_frame_size_) + " bytes (TransportOptions::max_frame_size)";
        }
        if (payload >= total) {
            return "announced a frame of " + std::to_string(total) +
                   " bytes whose first chunk already holds " + std::to_string(payload) +
                   " but is not the last";
        }
        Assembly assembly;
        assembly.frame.fds = std::move(chunk.fds);
        assembly.frame.priority = chunk.priority;
        assembly.expected = total;
        // Memory grows with the data that arrived, never just because a length says so
        // (at most eight times as much): a frame of up to eight chunks is never reallocated.
        auto& bytes = assembly.frame.bytes;
        bytes = BufferPool::frames().take(total);  // the letter gives it back
        bytes.reserve(std::min<std::size_t>(total, 8 * payload));
        const auto rest = data.subspan(first_chunk_header_size);
        bytes.insert(bytes.end(), rest.begin(), rest.end());
        if (spare_lane_) {
            spare_lane_.key() = chunk.priority;
            spare_lane_.mapped() = std::move(assembly);
            assembling_.insert(std::move(spare_lane_));
        } else {
            assembling_.emplace(chunk.priority, std::move(assembly));
        }
        return std::nullopt;
    }

    if (lane == assembling_.end()) return "a continuation chunk with no frame begun";
    if (!chunk.fds.empty()) return "file descriptors on a chunk other than a frame's first";
    auto& bytes = lane->second.frame.bytes;
    const std::uint64_t expected = lane->second.expected;
    const std::size_t have = bytes.size();
    const std::size_t payload = data.size() - chunk_header_size;
    // Made only for an error: a chunk that is fine must not cost an allocation.
    const auto progress = [&] {
        return std::to_string(have) + " of " + std::to_string(expected) + " bytes";
    };
    if (payload == 0) return "an empty continuation chunk after " + progress();
    if (payload > expected - have) {
        return "a chunk of " + std::to_string(payload) + " bytes after " + progress() +
               ", more than the frame announced";
    }
    if (last && have + payload != expected) {
        return "the last chunk came after " + std::to_string(have + payload) + " of " +
               std::to_string(expected) + " bytes";
    }
    if (!last && have + payload == expected) {
        return "the frame's " + std::to_string(expected) +
               " bytes arrived but the chunk is not marked last";
    }
    if (bytes.capacity() < have + payload) {
        bytes.reserve(std::min<std::size_t>(expected, std::max(have + payload, 2 * have)));
    }
    const auto rest = data.subspan(chunk_header_size);
    bytes.insert(bytes.end(), rest.begin(), rest.end());
    if (last) {
        out.push_back(std::move(lane->second.frame));
        spare_lane_ = assembling_.extract(lane);
    }
    return std::nullopt;
}

std::optional<std::string> FragmentingLink::take_pack(Frame& chunk, std::vector<Frame>& out) const {
    // Checked whole before any frame is appended: a malformed pack delivers nothing.
    const std::span<const std::byte> data = chunk.data();
    const std::size_t size = data.size();
    if (size == chunk_header_size) return "an empty packed chunk";
    std::size_t frames = 0;
    for (std::size_t at = chunk_header_size; at < size; ++frames) {
        const auto where = [&] {
            return "frame " + std::to_string(frames + 1) + " of a packed chunk";
        };
        if (size - at < packed_length_size) {
            return where() + " has " + std::to_string(size - at) + " bytes, too few for its length";
        }
        const std::uint32_t length = load_le<std::uint32_t>(data.data() + at);
        at += packed_length_size;
        if (length > size - at) {
            return where() + " announced " + std::to_string(length) + " bytes but only " +
                   std::to_string(size - at) + " are left";
        }
        if (length > max_frame_size_) {
            return where() + " has " + std::to_string(length) + " bytes, above the limit of " +
                   std::to_string(max_frame_size_) + " bytes (TransportOptions::max_frame_size)";
        }
        at += length;
    }
    // The frames view the chunk, which they share: no copy, no buffer each. (`data` stays
    // valid: moving the vector into the holder keeps its heap block where it is.)
    const SharedBytes shared = chunk.shared ? chunk.shared : SharedBytes(std::move(chunk.bytes));
    for (std::size_t at = chunk_header_size; at < size;) {
        const std::uint32_t length = load_le<std::uint32_t>(data.data() + at);
        Frame& frame = out.emplace_back();
        frame.shared = shared;
        frame.view = data.subspan(at + packed_length_size, length);
        frame.priority = chunk.priority;
        at += packed_length_size + length;
    }
    return std::nullopt;
}

ReceiveStatus FragmentingLink::finish(ReceiveStatus status) {
    assembling_.clear();  // closes descriptors of frames that will never complete
    ended_ = status;
    return status;
}

FragmentingListener::FragmentingListener(std::unique_ptr<Listener> inner,
                                         const TransportOptions& options)
    : inner_(std::move(inner)), options_(options) {}

std::unique_ptr<Link> FragmentingListener::accept() {
    auto link = inner_->accept();
    if (!link) return nullptr;
    return std::make_unique<FragmentingLink>(std::move(link), options_);
}

bool needs_fragmenting(const Capabilities& capabilities) noexcept {
    return capabilities.native_frame_limit != std::numeric_limits<std::size_t>::max();
}

TransportOptions chunk_options(const Capabilities& capabilities, const TransportOptions& options) {
    TransportOptions chunks = options;
    chunks.max_frame_size = capabilities.native_frame_limit;
    return chunks;
}

}  // namespace courier::detail
