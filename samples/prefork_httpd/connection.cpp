#include "connection.hpp"

#include "http_response.hpp"
#include "static_files.hpp"

#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>

namespace httpd {

namespace {

constexpr std::size_t read_chunk = 16 * 1024;
/// The most a connection holds unanswered: a whole head and one read more. Past it, it
/// stops reading until its turn comes (or the head is refused as too large).
constexpr std::size_t buffer_limit = max_head_bytes + read_chunk;
/// How long a closing connection waits for the client to close its side.
constexpr std::chrono::seconds linger_timeout{2};
constexpr std::uint64_t sendfile_chunk = 1 << 20;

bool would_block(int error) {
    return error == EAGAIN || error == EWOULDBLOCK;
}

}  // namespace

Connection::Connection(std::uint64_t id, courier::Fd socket, const Site& site)
    : id_(id), socket_(std::move(socket)), site_(site) {
    // The master accepted it blocking; this loop must never wait on one client.
    const int flags = ::fcntl(socket_.get(), F_GETFL);
    ::fcntl(socket_.get(), F_SETFL, flags | O_NONBLOCK);
    // A response leaves as soon as it is whole (MSG_MORE holds a head for its body).
    const int on = 1;
    ::setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

void Connection::on_ready(std::uint32_t events) {
    active_ = Clock::now();
    // Reset by the client, or both sides shut (the end of a lingering close): over.
    if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
        finished_ = true;
        return;
    }
    if ((events & EPOLLIN) != 0) read_some();
    if ((events & EPOLLOUT) != 0) blocked_ = false;
    advance();
}

void Connection::on_stats(int status, const std::string& page) {
    if (!waiting_stats_ || finished_) return;
    waiting_stats_ = false;
    ResponseHead head;
    head.status = status;
    head.keep_alive = stats_request_.keep_alive;
    head.minor = stats_request_.minor;
    respond(text_response(head, page, stats_head_only_), stats_request_.keep_alive);
    advance();
}

std::uint32_t Connection::interest() const noexcept {
    std::uint32_t events = 0;
    if (lingering_ || (!peer_closed_ && in_.size() < buffer_limit)) events |= EPOLLIN;
    if (blocked_) events |= EPOLLOUT;
    return events;
}

void Connection::check_timeout(Clock::time_point now) {
    if (finished_ || waiting_stats_) return;  // the master's answer has a timeout of its own
    if (now - active_ < (lingering_ ? linger_timeout : site_.idle_timeout)) return;
    if (lingering_ || blocked_)
        finished_ = true;  // a client that neither reads nor closes
    else
        linger();  // idle between requests, or slow to send one: say goodbye
}

void Connection::read_some() {
    std::array<char, read_chunk> chunk;
    if (lingering_) {  // what comes now is discarded, until the client closes
        for (int reads = 0; reads < 4; ++reads) {
            const auto got = COURIER_SYSCALL(::recv, socket_.get(), chunk.data(), chunk.size(), 0);
            if (got.ok() && got.value > 0) continue;
            if (!got.ok() && would_block(got.error)) return;
            finished_ = true;  // its end of file, or an error
            return;
        }
        return;
    }
    if (peer_closed_ || in_.size() >= buffer_limit) return;
    const auto got = COURIER_SYSCALL(::recv, socket_.get(), chunk.data(), chunk.size(), 0);
    if (got.ok() && got.value > 0)
        in_.append(chunk.data(), static_cast<std::size_t>(got.value));
    else if (got.ok())
        peer_closed_ = true;  // it sends no more; what it sent is still answered
    else if (!would_block(got.error))
        finished_ = true;  // reset
}

void Connection::write_some() {
    while (out_sent_ < out_.size()) {
        const int more = file_left_ > 0 ? MSG_MORE : 0;
        const auto sent = COURIER_SYSCALL(::send, socket_.get(), out_.data() + out_sent_,
                                          out_.size() - out_sent_, MSG_NOSIGNAL | more);
        if (!sent.ok()) {
            (would_block(sent.error) ? blocked_ : finished_) = true;
            return;
        }
        out_sent_ += static_cast<std::size_t>(sent.value);
    }
    out_.clear();
    out_sent_ = 0;
    while (file_left_ > 0) {
        auto offset = static_cast<off_t>(file_offset_);
        const auto sent = COURIER_SYSCALL(::sendfile, socket_.get(), file_.get(), &offset,
                                          std::min(file_left_, sendfile_chunk));
        if (!sent.ok()) {
            (would_block(sent.error) ? blocked_ : finished_) = true;
            return;
        }
        if (sent.value == 0) {  // the file shrank: its Content-Length cannot be kept
            finished_ = true;
            return;
        }
        file_offset_ += static_cast<std::uint64_t>(sent.value);
        file_left_ -= static_cast<std::uint64_t>(sent.value);
    }
    file_.reset();
}

void Connection::advance() {
    while (!finished_) {
        if (!out_.empty() || file_left_ > 0) {
            if (blocked_) return;
            write_some();
            if (finished_ || blocked_) return;
        }
        if (waiting_stats_ || lingering_) return;
        if (close_after_) return linger();
        if (skip_ > 0) {  // the body of a request that had one: not ours to read
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, in_.size()));
            in_.erase(0, n);
            skip_ -= n;
            if (skip_ > 0) {
                finished_ = peer_closed_;
                return;
            }
        }
        Parsed parsed = parse_request(in_);
        switch (parsed.outcome) {
            case Parsed::Outcome::incomplete:
                finished_ = peer_closed_;  // nothing more will come: half a request is dropped
                return;
            case Parsed::Outcome::refused: {
                // What follows a malformed head cannot be framed: answer, then close.
                ++requests_;
                ResponseHead head;
                head.status = parsed.status;
                head.keep_alive = false;
                respond(text_response(head, parsed.reason + "\n", false), false);
                in_.clear();
                break;
            }
            case Parsed::Outcome::request:
                in_.erase(0, parsed.head_size);
                skip_ = parsed.request.body_length;
                answer(parsed.request);
                break;
        }
    }
}

void Connection::answer(const Request& request) {
    ++requests_;
    const bool head_only = request.method == "HEAD";
    ResponseHead head;
    head.keep_alive = request.keep_alive;
    head.minor = request.minor;
    if (request.method != "GET" && !head_only) {
        head.status = 405;
        head.extra_headers = "Allow: GET, HEAD\r\n";
        return respond(text_response(head, "only GET and HEAD are served\n", false),
                       request.keep_alive);
    }
    if (request.target.substr(0, request.target.find('?')) == "/stats") {
        // The counts are the master's: the loop asks for them, and on_stats answers.
        waiting_stats_ = stats_asked_ = true;
        stats_request_ = request;
        stats_head_only_ = head_only;
        return;
    }
    StaticFile found = open_static(site_.root, request.target);
    if (found.status != 200) {
        head.status = found.status;
        return respond(text_response(head, found.reason + "\n", head_only), request.keep_alive);
    }
    head.content_type = found.content_type;
    head.content_length = found.size;
    respond(response_head(head), request.keep_alive);
    if (!head_only && found.size > 0) {
        file_ = std::move(found.file);
        file_offset_ = 0;
        file_left_ = found.size;
    }
}

void Connection::respond(std::string head_and_body, bool keep_alive) {
    out_ = std::move(head_and_body);
    out_sent_ = 0;
    close_after_ = !keep_alive;
}

void Connection::linger() {
    if (peer_closed_) {  // nothing can come that a close would turn into a reset
        finished_ = true;
        return;
    }
    ::shutdown(socket_.get(), SHUT_WR);
    lingering_ = true;
    in_.clear();
    active_ = Clock::now();
}

}  // namespace httpd
