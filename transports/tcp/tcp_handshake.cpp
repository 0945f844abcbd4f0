#include "tcp/tcp_handshake.hpp"

#include <courier/transports/link.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace courier::detail {

namespace handshake {

Nonce fresh_nonce() {
    Nonce nonce{};
    if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1)
        throw std::runtime_error("no random bytes from OpenSSL for the tcp handshake");
    return nonce;
}

Proof prove(const TcpCookie& cookie, const char* role, const Nonce& first, const Nonce& second) {
    // Room for the role checked, not assumed: the roles outgrew an array of 16 and the
    // nonces were copied past its end (handshake_fuzz found it; regressions/handshake_fuzz).
    constexpr std::size_t max_role_size = 32;
    std::array<unsigned char, max_role_size + 2 * nonce_size> message{};
    const std::size_t role_size = std::strlen(role) + 1;  // with its NUL: roles cannot blur
    if (role_size > max_role_size)
        throw std::invalid_argument("a tcp handshake role longer than 31 bytes");
    std::memcpy(message.data(), role, role_size);
    std::memcpy(message.data() + role_size, first.data(), nonce_size);
    std::memcpy(message.data() + role_size + nonce_size, second.data(), nonce_size);
    Proof proof{};
    unsigned int length = 0;
    if (!HMAC(EVP_sha256(), cookie.secret.data(), static_cast<int>(cookie.secret.size()),
              message.data(), role_size + 2 * nonce_size, proof.data(), &length) ||
        length != proof.size())
        throw std::runtime_error("HMAC-SHA256 failed in OpenSSL");
    return proof;
}

bool same(const unsigned char* a, const Proof& b) noexcept {
    return CRYPTO_memcmp(a, b.data(), b.size()) == 0;
}

}  // namespace handshake

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* connector_role = "courier tcp connector";
constexpr const char* listener_role = "courier tcp listener";

/// Reads exactly `size` bytes before `deadline`, or throws LinkError.
void read_exactly(int socket, unsigned char* into, std::size_t size, Clock::time_point deadline,
                  const std::string& peer, const char* what) {
    std::size_t got = 0;
    while (got < size) {
        const ssize_t n = ::recv(socket, into + got, size - got, MSG_DONTWAIT);
        if (n > 0) {
            got += static_cast<std::size_t>(n);
            continue;
        }
        if (n == 0)
            throw LinkError(peer + " closed the connection during the tcp handshake, before " +
                            what + " (is it a courier node? does it refuse our cookie?)");
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            throw LinkError(peer + ": the tcp handshake failed: " + std::strerror(errno));
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0)
            throw LinkError(peer + " did not complete the tcp handshake in time (waiting for " +
                            what + ")");
        pollfd ready{socket, POLLIN, 0};
        (void)::poll(&ready, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 1)));
    }
}

/// Writes all of `bytes` before `deadline`, or throws LinkError.
void write_all(int socket, const unsigned char* bytes, std::size_t size, Clock::time_point deadline,
               const std::string& peer) {
    std::size_t sent = 0;
    while (sent < size) {
        const ssize_t n = ::send(socket, bytes + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            throw LinkError(peer + ": the tcp handshake failed: " + std::strerror(errno));
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) throw LinkError(peer + " did not take the tcp handshake in time");
        pollfd ready{socket, POLLOUT, 0};
        (void)::poll(&ready, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 1)));
    }
}

}  // namespace

void authenticate_to_listener(int socket, const TcpCookie& cookie, Clock::time_point deadline,
                              const std::string& peer) {
    using namespace handshake;
    std::array<unsigned char, challenge_size> challenge{};
    read_exactly(socket, challenge.data(), challenge.size(), deadline, peer, "its challenge");
    if (!std::equal(magic.begin(), magic.end(), challenge.begin()))
        throw LinkError(peer +
                        " is not a courier tcp listener (its first bytes are not "
                        "courier's handshake)");
    Nonce theirs{};
    std::copy_n(challenge.begin() + magic.size(), nonce_size, theirs.begin());
    const Nonce ours = fresh_nonce();
    std::array<unsigned char, answer_size> answer{};
    std::copy(magic.begin(), magic.end(), answer.begin());
    std::copy(ours.begin(), ours.end(), answer.begin() + magic.size());
    const Proof proof = prove(cookie, connector_role, theirs, ours);
    std::copy(proof.begin(), proof.end(), answer.begin() + magic.size() + nonce_size);
    write_all(socket, answer.data(), answer.size(), deadline, peer);

    unsigned char verdict = 0;
    read_exactly(socket, &verdict, 1, deadline, peer, "its verdict on our cookie");
    if (verdict == refused)
        throw LinkError(peer + " refused our tcp cookie (" + cookie.path.string() +
                        "): both ends need the same cookie file");
    if (verdict != accepted) throw LinkError(peer + " answered the tcp handshake with garbage");
    std::array<unsigned char, proof_size> their_proof{};
    read_exactly(socket, their_proof.data(), their_proof.size(), deadline, peer, "its proof");
    if (!same(their_proof.data(), prove(cookie, listener_role, ours, theirs)))
        throw LinkError(peer + " does not know our tcp cookie (" + cookie.path.string() +
                        "): it is not one of our nodes, or its cookie differs");
}

ListenerHandshake::ListenerHandshake(Fd socket, const TcpCookie& cookie, std::string peer,
                                     Clock::time_point deadline)
    : socket_(std::move(socket)),
      cookie_(&cookie),
      peer_(std::move(peer)),
      deadline_(deadline),
      nonce_(handshake::fresh_nonce()) {
    std::array<unsigned char, handshake::challenge_size> challenge{};
    std::copy(handshake::magic.begin(), handshake::magic.end(), challenge.begin());
    std::copy(nonce_.begin(), nonce_.end(), challenge.begin() + handshake::magic.size());
    const ssize_t n =
        ::send(socket_.get(), challenge.data(), challenge.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(challenge.size()))
        throw std::system_error(n < 0 ? errno : EAGAIN, std::generic_category(),
                                "send the tcp handshake's challenge to " + peer_);
}

ListenerHandshake::State ListenerHandshake::advance() {
    using namespace handshake;
    while (got_ < answer_.size()) {
        const ssize_t n =
            ::recv(socket_.get(), answer_.data() + got_, answer_.size() - got_, MSG_DONTWAIT);
        if (n > 0) {
            got_ += static_cast<std::size_t>(n);
            // Refused as soon as the first bytes show it is not courier's handshake.
            const std::size_t seen = std::min(got_, magic.size());
            if (!std::equal(magic.begin(), magic.begin() + static_cast<std::ptrdiff_t>(seen),
                            answer_.begin()))
                return refuse("its first bytes are not courier's tcp handshake", false);
            continue;
        }
        if (n == 0) return refuse("it closed the connection during the tcp handshake", false);
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return State::waiting;
        return refuse(std::string("the tcp handshake failed: ") + std::strerror(errno), false);
    }
    Nonce theirs{};
    std::copy_n(answer_.begin() + magic.size(), nonce_size, theirs.begin());
    if (!same(answer_.data() + magic.size() + nonce_size,
              prove(*cookie_, connector_role, nonce_, theirs)))
        return refuse("it does not know our tcp cookie (" + cookie_->path.string() +
                          "): wrong or missing cookie",
                      true);
    std::array<unsigned char, verdict_size> verdict{};
    verdict[0] = accepted;
    const Proof proof = prove(*cookie_, listener_role, theirs, nonce_);
    std::copy(proof.begin(), proof.end(), verdict.begin() + 1);
    // The connector sent nothing since its answer: the socket has room for 33 bytes.
    const ssize_t n =
        ::send(socket_.get(), verdict.data(), verdict.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(verdict.size()))
        return refuse("cannot send it our proof: " +
                          std::string(n < 0 ? std::strerror(errno) : "the socket is full"),
                      false);
    return State::accepted;
}

ListenerHandshake::State ListenerHandshake::refuse(std::string why, bool tell) {
    if (tell) {
        const unsigned char verdict = handshake::refused;
        (void)::send(socket_.get(), &verdict, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    why_ = std::move(why);
    return State::refused;
}

}  // namespace courier::detail
