#include "raw_fd_stream.hpp"

#include <courier/posix_call.hpp>
#include <courier/transports/transport.hpp>

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>

#include <stdexcept>

namespace courier::bench {

namespace {
/// The frame header: the payload's length, in the host's byte order (both ends are on
/// this host).
using Length = std::uint32_t;

std::runtime_error wrong_length(Length length, std::size_t expected) {
    return std::runtime_error("raw receive: a message of " + std::to_string(length) +
                              " bytes where " + std::to_string(expected) + " were expected");
}
}  // namespace

FdStreamChannel::FdStreamChannel(int in, int out, Writes writes)
    : in_(in), out_(out), writes_(writes) {
    if (in >= 0) owned_.emplace_back(in);
    if (out >= 0 && out != in) owned_.emplace_back(out);
    pending_.reserve(batch_bytes);
    if (in >= 0) buffer_ = std::make_unique_for_overwrite<std::uint8_t[]>(read_buffer_bytes);
}

void FdStreamChannel::send(std::span<const std::uint8_t> message) {
    const auto length = static_cast<Length>(message.size());
    if (writes_ == Writes::gathered &&
        pending_.size() + sizeof(length) + message.size() <= batch_bytes) {
        const auto* header = reinterpret_cast<const std::uint8_t*>(&length);
        pending_.insert(pending_.end(), header, header + sizeof(length));
        pending_.insert(pending_.end(), message.begin(), message.end());
        return;
    }
    // The batch is full, or the message too large to gather: what is gathered, the header
    // and the payload in one call.
    iovec parts[] = {{pending_.data(), pending_.size()},
                     {const_cast<Length*>(&length), sizeof(length)},
                     {const_cast<std::uint8_t*>(message.data()), message.size()}};
    write_all(parts);
    pending_.clear();
}

void FdStreamChannel::flush() {
    if (pending_.empty()) return;
    iovec part{pending_.data(), pending_.size()};
    write_all({&part, 1});
    pending_.clear();
}

namespace {
/// Drops the first `n` bytes of `parts`: a stream may move less than all of them.
void advance(std::span<iovec>& parts, std::size_t n) noexcept {
    while (!parts.empty() && n >= parts.front().iov_len) {
        n -= parts.front().iov_len;
        parts = parts.subspan(1);
    }
    if (n > 0) {
        parts.front().iov_base = static_cast<std::uint8_t*>(parts.front().iov_base) + n;
        parts.front().iov_len -= n;
    }
}
}  // namespace

void FdStreamChannel::write_all(std::span<iovec> parts) {
    while (!parts.empty()) {
        auto wrote = COURIER_SYSCALL(::writev, out_, parts.data(), static_cast<int>(parts.size()));
        if (!wrote.ok()) throw system_error_from(wrote, "raw send");
        advance(parts, static_cast<std::size_t>(wrote.value));
    }
}

void FdStreamChannel::read_all(std::span<iovec> parts) {
    while (!parts.empty()) {
        auto got = COURIER_SYSCALL(::readv, in_, parts.data(), static_cast<int>(parts.size()));
        if (!got.ok()) throw system_error_from(got, "raw receive");
        if (got.value == 0) throw std::runtime_error("raw receive: the peer closed its end");
        advance(parts, static_cast<std::size_t>(got.value));
    }
}

void FdStreamChannel::fill() {
    if (begin_ == end_) begin_ = end_ = 0;
    auto got = COURIER_SYSCALL(::read, in_, buffer_.get() + end_, read_buffer_bytes - end_);
    if (!got.ok()) throw system_error_from(got, "raw receive");
    if (got.value == 0) throw std::runtime_error("raw receive: the peer closed its end");
    end_ += static_cast<std::size_t>(got.value);
}

void FdStreamChannel::receive(std::span<std::uint8_t> out) {
    if (begin_ == end_ && out.size() >= direct_read_bytes) {
        // Nothing buffered and a large message: its header and payload in one readv(2),
        // the payload straight into place, and not a byte of the next message. A length
        // that differs is an error either way, so reading before checking it is safe.
        Length length = 0;
        iovec parts[] = {{&length, sizeof(length)}, {out.data(), out.size()}};
        read_all(parts);
        if (length != out.size()) throw wrong_length(length, out.size());
        return;
    }
    // The header, possibly split across two reads: move a partial one to the front.
    if (end_ - begin_ < sizeof(Length)) {
        std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
        while (end_ < sizeof(Length)) fill();
    }
    Length length;
    std::memcpy(&length, buffer_.get() + begin_, sizeof(length));
    begin_ += sizeof(length);
    if (length != out.size()) throw wrong_length(length, out.size());
    while (!out.empty()) {
        if (begin_ == end_) {
            // Nothing buffered: a large rest goes straight to its place, a small one
            // through the buffer with whatever follows it.
            if (out.size() >= direct_read_bytes) {
                auto got = COURIER_SYSCALL(::read, in_, out.data(), out.size());
                if (!got.ok()) throw system_error_from(got, "raw receive");
                if (got.value == 0)
                    throw std::runtime_error("raw receive: the peer closed its end");
                out = out.subspan(static_cast<std::size_t>(got.value));
                continue;
            }
            fill();
        }
        const std::size_t n = std::min(out.size(), end_ - begin_);
        std::memcpy(out.data(), buffer_.get() + begin_, n);
        begin_ += n;
        out = out.subspan(n);
    }
}

FdWiring::FdWiring(Ends a, Ends b, std::vector<Fd> owned)
    : a_(a), b_(b), owned_(std::move(owned)) {}

std::string FdWiring::spec(Side side) const {
    const Ends& ends = side == Side::a ? a_ : b_;
    return std::to_string(ends.in) + "," + std::to_string(ends.out);
}

std::vector<int> FdWiring::fds(Side side) const {
    const Ends& ends = side == Side::a ? a_ : b_;
    std::vector<int> out;
    if (ends.in >= 0) out.push_back(ends.in);
    if (ends.out >= 0 && ends.out != ends.in) out.push_back(ends.out);
    return out;
}

std::pair<std::string, std::string> split_spec(const std::string& spec) {
    auto comma = spec.find(',');
    if (comma == std::string::npos)
        throw std::invalid_argument("malformed raw spec '" + spec + "'");
    return {spec.substr(0, comma), spec.substr(comma + 1)};
}

std::size_t courier_pipe_buffer() {
    for (const char* scheme : {"pipe", "fifo"})
        if (const auto* transport = TransportRegistry::builtin().find(scheme))
            if (const auto* setting = transport->find_setting("pipe_buffer"))
                return static_cast<std::size_t>(setting->default_value);
    return 0;  // a build without either: the kernel's default
}

void size_like_courier(int pipe_fd) noexcept {
    if (const auto size = courier_pipe_buffer(); size > 0)
        (void)COURIER_SYSCALL(::fcntl, pipe_fd, F_SETPIPE_SZ, static_cast<int>(size));
}

std::string stream_framing(Writes writes) {
    const std::string reads = "reads of up to " +
                              std::to_string(FdStreamChannel::read_buffer_bytes / 1024) +
                              " KiB, parsed";
    if (writes == Writes::each)
        return "4-byte length + payload; one writev(2) per message, nothing gathered; " + reads;
    return "4-byte length + payload; writes gathered up to " +
           std::to_string(FdStreamChannel::batch_bytes / 1024) +
           " KiB, a larger message in one writev(2); " + reads;
}

std::unique_ptr<Channel> open_fd_spec(const std::string& spec, Writes writes) {
    auto [in, out] = split_spec(spec);
    return std::make_unique<FdStreamChannel>(std::stoi(in), std::stoi(out), writes);
}

}  // namespace courier::bench
