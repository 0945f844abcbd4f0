#include "src/stream_framing.hpp"

#include "src/pipe_buffer.hpp"
#include "src/sigpipe.hpp"

#include <courier/posix_call.hpp>
#include <courier/transports/buffer_pool.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace courier::detail {

namespace {

/// How much one recvmsg asks for when no large frame is pending.
constexpr std::size_t read_chunk = std::size_t{64} << 10;
/// Upper bound of one recvmsg into a large frame, and about what one receive() reads
/// before it returns.
constexpr std::size_t max_read = std::size_t{4} << 20;
/// A frame at least this long is read into its own buffer rather than through in_.
constexpr std::size_t large_frame = read_chunk;

/// Room for the largest SCM_RIGHTS message, aligned as a cmsghdr.
union ControlBuffer {
    cmsghdr align;
    std::array<std::byte, CMSG_SPACE(sizeof(int) * max_fds_per_frame)> bytes;
};

std::uint32_t read_le32(const std::byte* p) {
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
           (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

std::array<std::byte, frame_prefix_size> le32(std::uint32_t v) {
    return {std::byte(v & 0xffU), std::byte((v >> 8) & 0xffU), std::byte((v >> 16) & 0xffU),
            std::byte((v >> 24) & 0xffU)};
}

ReceiveStatus failed(std::string reason) {
    return ReceiveStatus{ReceiveStatus::State::failed, std::move(reason)};
}

}  // namespace

StreamLink::StreamLink(Fd socket, Capabilities capabilities, const TransportOptions& options,
                       std::string peer)
    : socket_(std::move(socket)),
      capabilities_(capabilities),
      // The prefix is 32 bits: nothing larger can be framed, whatever the option says.
      max_frame_size_(
          std::min<std::size_t>(options.max_frame_size, std::numeric_limits<std::uint32_t>::max())),
      peer_(std::move(peer)) {}

StreamLink::StreamLink(Fd read_end, Fd write_end, Capabilities capabilities,
                       const TransportOptions& options, std::string peer, int watch_fd)
    : socket_(std::move(read_end)),
      write_end_(std::move(write_end)),
      watch_fd_(watch_fd),
      capabilities_(capabilities),
      max_frame_size_(
          std::min<std::size_t>(options.max_frame_size, std::numeric_limits<std::uint32_t>::max())),
      peer_(std::move(peer)) {
    capabilities_.fd_passing = false;  // pipes carry bytes only
    // Both pipes of the link, this side's and the peer's: a spawned child need not be a
    // courier program that sizes its own.
    apply_pipe_buffer(socket_.get(), options, peer_);
    apply_pipe_buffer(write_end_.get(), options, peer_);
}

pid_t StreamLink::peer_pid() const noexcept {
    if (!capabilities_.fd_passing) return 0;  // only an AF_UNIX socket passes descriptors
    ucred credentials{};
    socklen_t size = sizeof credentials;
    if (::getsockopt(socket_.get(), SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0) return 0;
    return credentials.pid;
}

void StreamLink::send(std::span<const std::byte> bytes, std::span<const int> fds,
                      std::uint8_t priority, bool more) {
    send_parts(std::span<const std::span<const std::byte>>(&bytes, 1), fds, priority, more);
}

void StreamLink::send_parts(std::span<const std::span<const std::byte>> parts,
                            std::span<const int> fds, std::uint8_t, bool more) {
    std::size_t size = 0;
    for (const auto part : parts) size += part.size();
    if (!fds.empty() && !capabilities_.fd_passing) {
        throw LinkError(peer_ + ": this transport cannot carry file descriptors");
    }
    if (fds.size() > max_fds_per_frame) {
        throw LinkError(peer_ + ": " + std::to_string(fds.size()) +
                        " file descriptors in one frame; at most " +
                        std::to_string(max_fds_per_frame) + " fit");
    }
    if (size > max_frame_size_) {
        throw LinkError(peer_ + ": frame of " + std::to_string(size) +
                        " bytes exceeds the limit of " + std::to_string(max_frame_size_) +
                        " bytes (TransportOptions::max_frame_size)");
    }
    std::lock_guard lock(send_mutex_);
    if (!send_broken_.empty()) throw LinkError(peer_ + ": link is broken: " + send_broken_);
    const auto prefix = le32(static_cast<std::uint32_t>(size));
    if (!fds.empty()) {
        // The descriptors must ride on their own frame's first byte: the kept frames go first.
        if (!out_.empty()) write_out({});
        try {
            pieces_.assign({std::span<const std::byte>(prefix)});
            pieces_.insert(pieces_.end(), parts.begin(), parts.end());
            write_all(pieces_, fds);
        } catch (const LinkError& error) {
            // A frame may be half written: the stream cannot carry another one.
            send_broken_ = error.what();
            throw;
        }
        return;
    }
    if (more && out_.size() + frame_prefix_size + size <= send_batch_limit) {
        out_.insert(out_.end(), prefix.begin(), prefix.end());
        for (const auto part : parts) out_.insert(out_.end(), part.begin(), part.end());
        return;
    }
    // The kept frames, then this one's prefix and parts, in one writev: its parts are
    // written from where they are (a large Bytes from the message's memory), never copied.
    pieces_.assign({std::span<const std::byte>(out_), std::span<const std::byte>(prefix)});
    pieces_.insert(pieces_.end(), parts.begin(), parts.end());
    write_out(pieces_);
}

void StreamLink::flush() {
    std::lock_guard lock(send_mutex_);
    if (out_.empty()) return;
    if (!send_broken_.empty()) throw LinkError(peer_ + ": link is broken: " + send_broken_);
    write_out({});
}

bool StreamLink::try_flush() {
    std::unique_lock lock(send_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return false;  // another thread is writing
    if (out_.empty()) return true;
    if (!send_broken_.empty()) throw LinkError(peer_ + ": link is broken: " + send_broken_);
    std::optional<SigpipeBlocked> no_sigpipe;
    if (write_end_ && !sigpipe_ignored()) no_sigpipe.emplace();
    try {
        const std::array<std::span<const std::byte>, 1> kept{out_};
        const std::size_t wrote = write_once(kept, {}, 0, no_sigpipe ? &*no_sigpipe : nullptr);
        out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(wrote));
    } catch (const LinkError& error) {
        out_.clear();
        send_broken_ = error.what();
        throw;
    }
    return out_.empty();
}

void StreamLink::write_out(std::span<const std::span<const std::byte>> pieces) {
    try {
        if (!pieces.empty()) {
            write_all(pieces, {});
        } else {
            const std::array<std::span<const std::byte>, 1> kept{out_};
            write_all(kept, {});
        }
    } catch (const LinkError& error) {
        // Kept frames are lost, and one may be half written: nothing can follow.
        out_.clear();
        send_broken_ = error.what();
        throw;
    }
    out_.clear();
    // A buffer grown by no more than the limit is kept: batches reuse it.
}

void StreamLink::write_all(std::span<const std::span<const std::byte>> parts,
                           std::span<const int> fds) {
    std::size_t total = 0;
    for (auto part : parts) total += part.size();
    std::optional<SigpipeBlocked> no_sigpipe;
    if (write_end_ && !sigpipe_ignored()) no_sigpipe.emplace();
    for (std::size_t sent = 0; sent < total;) {
        const std::size_t wrote = write_once(parts, sent == 0 ? fds : std::span<const int>{}, sent,
                                             no_sigpipe ? &*no_sigpipe : nullptr);
        if (wrote == 0) wait_writable();
        sent += wrote;
    }
}

std::size_t StreamLink::write_once(std::span<const std::span<const std::byte>> parts,
                                   std::span<const int> fds, std::size_t sent,
                                   SigpipeBlocked* no_sigpipe) {
    // The iovecs of what is left to send, as many as one call takes here; write_all calls
    // again for the rest.
    constexpr std::size_t max_parts = 16;
    std::array<iovec, max_parts> iov{};
    std::size_t iov_count = 0;
    std::size_t skip = sent;
    for (auto part : parts) {
        if (iov_count == max_parts) break;
        if (skip >= part.size()) {  // also skips empty parts: an iovec needs no 0 bytes
            skip -= part.size();
            continue;
        }
        iov[iov_count++] = iovec{const_cast<std::byte*>(part.data() + skip), part.size() - skip};
        skip = 0;
    }
    msghdr message{};
    message.msg_iov = iov.data();
    message.msg_iovlen = iov_count;
    ControlBuffer control{};
    if (!fds.empty()) {
        // The descriptors ride on the frame's first byte; once any byte is out, so are they.
        message.msg_control = control.bytes.data();
        message.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr* header = CMSG_FIRSTHDR(&message);
        if (header == nullptr) throw LinkError(peer_ + ": no room for SCM_RIGHTS");
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
    }
    const auto result =
        write_end_
            ? COURIER_SYSCALL(::writev, write_end_.get(), iov.data(), static_cast<int>(iov_count))
            : COURIER_SYSCALL(::sendmsg, socket_.get(), &message, MSG_NOSIGNAL);
    if (result.ok()) return static_cast<std::size_t>(result.value);
    if (result.error == EAGAIN || result.error == EWOULDBLOCK) return 0;
    if (result.error == EPIPE || result.error == ECONNRESET) {
        if (no_sigpipe) no_sigpipe->consume();
        throw LinkError(peer_ + ": the peer closed the link (" +
                        std::generic_category().message(result.error) + ")");
    }
    throw LinkError(system_error_from(result, peer_).what());
}

bool StreamLink::try_send(std::span<const std::byte> bytes) {
    if (bytes.size() > max_frame_size_)
        throw LinkError(peer_ + ": frame of " + std::to_string(bytes.size()) +
                        " bytes exceeds the limit of " + std::to_string(max_frame_size_) +
                        " bytes (TransportOptions::max_frame_size)");
    std::unique_lock lock(send_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return false;  // another thread is writing
    if (!send_broken_.empty()) throw LinkError(peer_ + ": link is broken: " + send_broken_);
    std::optional<SigpipeBlocked> no_sigpipe;
    if (write_end_ && !sigpipe_ignored()) no_sigpipe.emplace();
    try {
        // What is kept goes first: frames of send(more), or the tail of an earlier
        // try_send. Written as far as the stream takes it now.
        if (!out_.empty()) {
            const std::array<std::span<const std::byte>, 1> kept{out_};
            const std::size_t wrote = write_once(kept, {}, 0, no_sigpipe ? &*no_sigpipe : nullptr);
            out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(wrote));
            if (!out_.empty()) return false;
        }
        const auto prefix = le32(static_cast<std::uint32_t>(bytes.size()));
        const std::array<std::span<const std::byte>, 2> parts{prefix, bytes};
        const std::size_t wrote = write_once(parts, {}, 0, no_sigpipe ? &*no_sigpipe : nullptr);
        if (wrote == 0) return false;
        // Begun, so it must be finished: its tail is kept, and the next send, flush or
        // try_send writes it before anything else (a pipe takes small writes whole).
        if (wrote < prefix.size()) {
            out_.insert(out_.end(), prefix.begin() + static_cast<std::ptrdiff_t>(wrote),
                        prefix.end());
            out_.insert(out_.end(), bytes.begin(), bytes.end());
        } else {
            out_.insert(out_.end(),
                        bytes.begin() + static_cast<std::ptrdiff_t>(wrote - prefix.size()),
                        bytes.end());
        }
        return true;
    } catch (const LinkError& error) {
        out_.clear();
        send_broken_ = error.what();
        throw;
    }
}

void StreamLink::abort() noexcept {
    // A socket shut down wakes a writer blocked in wait_writable(), whose next write fails
    // with EPIPE; reading finds the end. Pipes cannot be shut down: their writers block
    // only while a live reader does not read, which the rendezvous watch ends if it dies.
    if (!write_end_) (void)COURIER_SYSCALL(::shutdown, socket_.get(), SHUT_RDWR);
}

void StreamLink::wait_writable() {
    std::array<pollfd, 2> entries{pollfd{write_fd(), POLLOUT, 0}, pollfd{watch_fd_, POLLIN, 0}};
    // Blocks while the peer does not read: that is the back-pressure send() promises.
    // POLLERR/POLLHUP also wake us, and the next write reports the error.
    const auto result =
        COURIER_SYSCALL(::poll, entries.data(), nfds_t{watch_fd_ >= 0 ? 2U : 1U}, -1);
    if (!result.ok()) throw LinkError(system_error_from(result, peer_).what());
    if (watch_fd_ >= 0 && entries[1].revents != 0 && (entries[0].revents & POLLOUT) == 0) {
        throw LinkError(peer_ + ": the peer is gone (its control connection closed)");
    }
}

ReceiveStatus StreamLink::receive(std::vector<Frame>& out) {
    if (ended_) return *ended_;
    // A bounded batch: a peer writing as fast as we read must not keep the caller (the
    // node's reactor) here. The socket stays readable, so the next call takes the rest.
    const std::uint64_t stop_at = read_position() + max_read;
    for (;;) {
        bool drained = false;
        auto end = read_some(drained);
        // Frames that arrived before an EOF or an error are still delivered.
        if (auto broken = extract_frames(out)) return finish(std::move(*broken));
        if (end) return finish(std::move(*end));
        if (drained || read_position() >= stop_at) return ReceiveStatus{};
    }
}

std::optional<ReceiveStatus> StreamLink::read_some(bool& drained) {
    // A large frame whose prefix is in goes on in its own buffer, its bytes so far moved
    // there once; in_ keeps only the prefix. The buffer is not zero-filled (a memset as
    // long as the frame), and the frame shares it up to the Bytes decoded from it. (Never
    // past max_frame_size: extract_frames refuses that length first.)
    if (large_length_ == 0 && in_.size() >= frame_prefix_size) {
        const std::uint32_t length = read_le32(in_.data());
        if (length >= large_frame && length <= max_frame_size_ &&
            in_.size() < frame_prefix_size + length) {
            // A fresh block is only address space until it is written: memory follows the
            // bytes that arrive, not what a length says.
            large_ = SharedBytes::uninitialized(length);  // the letter gives it back
            large_got_ = in_.size() - frame_prefix_size;
            std::memcpy(large_.writable().data(), in_.data() + frame_prefix_size, large_got_);
            in_.truncate(frame_prefix_size);
            large_length_ = length;
        }
    }
    // Read a whole pending large frame in few calls, straight into it, never past its
    // end; small frames in 64 KiB chunks.
    std::size_t want = read_chunk;
    if (large_length_ != 0) {
        want = std::min(large_length_ - large_got_, max_read);
    } else if (in_.size() >= frame_prefix_size) {
        const std::size_t frame_end = frame_prefix_size + read_le32(in_.data());
        if (frame_end > in_.size()) want = std::clamp(frame_end - in_.size(), read_chunk, max_read);
    }
    const std::uint64_t read_at = read_position();  // stream offset of the first byte read
    std::byte* into = nullptr;
    if (large_length_ != 0) {
        into = large_.writable().data() + large_got_;
    } else {
        into = in_.room(want).data();  // not zero-filled: only what is read is kept
    }

    iovec iov{into, want};
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    ControlBuffer control{};
    int flags = MSG_DONTWAIT;
    if (capabilities_.fd_passing) {
        message.msg_control = control.bytes.data();
        message.msg_controllen = sizeof(control.bytes);
        flags |= MSG_CMSG_CLOEXEC;
    }
    const auto result = write_end_ ? COURIER_SYSCALL(::read, socket_.get(), iov.iov_base, want)
                                   : COURIER_SYSCALL(::recvmsg, socket_.get(), &message, flags);
    if (write_end_) message.msg_controllen = 0;  // read() fills no control data
    const auto got = result.ok() ? static_cast<std::size_t>(result.value) : 0;
    if (large_length_ != 0)
        large_got_ += got;
    else
        in_.commit(got);

    if (!result.ok()) {
        if (result.error == EAGAIN || result.error == EWOULDBLOCK) {
            drained = true;
            return std::nullopt;
        }
        if (result.error == ECONNRESET) {
            return failed("connection reset by " + peer_ + " (it closed with data unread)");
        }
        return failed(system_error_from(result, "receive from " + peer_).what());
    }

    // Take ownership of any descriptors first, so they are closed whatever happens next.
    if (message.msg_controllen > 0) {
        FdBatch batch{read_at + got - 1, {}};
        for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
             header = CMSG_NXTHDR(&message, header)) {
            if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
            const std::size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (std::size_t i = 0; i < count; ++i) {
                int fd = -1;
                std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof(int));
                batch.fds.emplace_back(fd);
            }
        }
        if (!batch.fds.empty()) in_fds_.push_back(std::move(batch));
    }
    if ((message.msg_flags & MSG_CTRUNC) != 0) {
        return failed(peer_ + " sent more file descriptors than fit in one frame (" +
                      std::to_string(max_fds_per_frame) + "); the kernel dropped some");
    }

    if (got > 0) {
        // Fewer bytes than asked for: the stream had no more just now. Another read would
        // most likely only say EAGAIN, a system call per receive; what comes later keeps
        // the descriptor readable (level-triggered), and the next receive takes it.
        drained = got < want;
        return std::nullopt;
    }
    // EOF: clean only between frames.
    if (in_.empty()) return ReceiveStatus{ReceiveStatus::State::closed, peer_ + " closed the link"};
    std::string progress = std::to_string(in_.size()) + " bytes";
    if (in_.size() >= frame_prefix_size) {
        progress = std::to_string(in_.size() + large_got_ - frame_prefix_size) + " of " +
                   std::to_string(read_le32(in_.data())) + " bytes";
    }
    return failed(peer_ + " closed the link in the middle of a frame (got " + progress + ")");
}

std::optional<ReceiveStatus> StreamLink::extract_frames(std::vector<Frame>& out) {
    if (large_length_ != 0) {
        if (large_got_ < large_length_) return std::nullopt;  // in_ holds its prefix only
        Frame frame;
        frame.shared = std::move(large_);
        frame.view = frame.shared.bytes();
        const std::uint64_t frame_end = in_offset_ + frame_prefix_size + large_length_;
        while (!in_fds_.empty() && in_fds_.front().last_byte < frame_end) {
            for (auto& fd : in_fds_.front().fds) frame.fds.push_back(std::move(fd));
            in_fds_.pop_front();
        }
        out.push_back(std::move(frame));
        large_ = SharedBytes();
        large_got_ = 0;
        in_.clear();
        in_offset_ = frame_end;
        large_length_ = 0;
        return std::nullopt;  // it was read alone: nothing follows it in in_
    }
    // Where the whole frames in in_ end, and how many there are.
    std::size_t end = 0, count = 0;
    std::optional<ReceiveStatus> broken;
    while (in_.size() - end >= frame_prefix_size) {
        const std::uint32_t length = read_le32(in_.data() + end);
        if (length > max_frame_size_) {
            // Checked before anything is allocated for it: a hostile length costs nothing.
            broken = failed(peer_ + " announced a frame of " + std::to_string(length) +
                            " bytes, above the limit of " + std::to_string(max_frame_size_) +
                            " bytes (TransportOptions::max_frame_size)");
            break;
        }
        if (in_.size() - end < frame_prefix_size + length) break;
        end += frame_prefix_size + length;
        ++count;
    }
    // Several frames share one copy of the bytes that hold them, one buffer for the read
    // instead of one each (the letters give it back together); a lone frame gets a buffer
    // of its own.
    SharedBytes shared;
    if (count > 1) {
        auto bytes = BufferPool::frames().take(end);
        bytes.assign(in_.data(), in_.data() + end);
        shared = SharedBytes(std::move(bytes));
    }
    for (std::size_t pos = 0; pos < end;) {
        const std::uint32_t length = read_le32(in_.data() + pos);
        const std::size_t at = pos + frame_prefix_size;
        Frame& frame = out.emplace_back();
        if (shared) {
            frame.shared = shared;
            frame.view = shared.bytes().subspan(at, length);
        } else {
            frame.bytes = BufferPool::frames().take(length);  // the letter gives it back
            frame.bytes.assign(in_.data() + at, in_.data() + at + length);
        }
        pos = at + length;
        const std::uint64_t frame_end = in_offset_ + pos;
        while (!in_fds_.empty() && in_fds_.front().last_byte < frame_end) {
            for (auto& fd : in_fds_.front().fds) frame.fds.push_back(std::move(fd));
            in_fds_.pop_front();
        }
    }
    in_.consume(end);
    in_offset_ += end;
    return broken;
}

ReceiveStatus StreamLink::finish(ReceiveStatus status) {
    // Later calls keep reporting the end; what is buffered can never become a frame.
    in_.release();
    large_ = SharedBytes();
    large_got_ = 0;
    large_length_ = 0;
    in_fds_.clear();
    ended_ = status;
    return status;
}

}  // namespace courier::detail
