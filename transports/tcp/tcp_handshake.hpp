#pragma once
/// @file
/// The handshake of a tcp: link, before any frame: each end proves it knows the cookie
/// (tcp_cookie.hpp) by HMAC-SHA256 over both ends' fresh nonces, and neither learns
/// anything it could replay (docs/protocol.md, "The tcp: handshake"):
///
///     listener -> connector: "courier\x01" + nonce_l (32 bytes)
///     connector -> listener: "courier\x01" + nonce_c (32) + HMAC(cookie, "connector" nonce_l
///     nonce_c) listener -> connector: '+' + HMAC(cookie, "listener" nonce_c nonce_l)
///                         or '-' (wrong proof), then it closes
///
/// The connector sends no frame before it checked the listener's proof, and the listener
/// delivers none before it checked the connector's. Proofs are compared in constant time.
/// Private to courier_transports.

#include "tcp/tcp_cookie.hpp"

#include <courier/fd.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <string>

namespace courier::detail {

namespace handshake {
inline constexpr std::array<unsigned char, 8> magic{'c', 'o', 'u', 'r', 'i', 'e', 'r', 1};
inline constexpr std::size_t nonce_size = 32;
inline constexpr std::size_t proof_size = 32;  ///< SHA-256
inline constexpr std::size_t challenge_size = magic.size() + nonce_size;
inline constexpr std::size_t answer_size = magic.size() + nonce_size + proof_size;
inline constexpr std::size_t verdict_size = 1 + proof_size;
inline constexpr unsigned char accepted = '+';
inline constexpr unsigned char refused = '-';
using Nonce = std::array<unsigned char, nonce_size>;
using Proof = std::array<unsigned char, proof_size>;

/// Fresh random bytes from OpenSSL. Throws std::runtime_error if it has none.
Nonce fresh_nonce();
/// HMAC-SHA256(cookie, role + mine + theirs).
Proof prove(const TcpCookie& cookie, const char* role, const Nonce& first, const Nonce& second);
/// Constant time (CRYPTO_memcmp).
bool same(const unsigned char* a, const Proof& b) noexcept;
}  // namespace handshake

/// The connecting end, on a blocking or non-blocking connected socket: runs the whole
/// handshake, waiting at most until `deadline`. Throws LinkError saying what failed (the
/// listener refused our cookie, its proof is wrong, it closed, the deadline passed),
/// naming `peer`.
void authenticate_to_listener(int socket, const TcpCookie& cookie,
                              std::chrono::steady_clock::time_point deadline,
                              const std::string& peer);

/// The listening end of one accepted connection, advanced without blocking as its bytes
/// arrive (TcpListener). Holds at most one answer's bytes: a stranger costs this much.
class ListenerHandshake {
  public:
    enum class State { waiting, accepted, refused };

    /// Sends the challenge. Throws std::system_error if the socket takes none of it (a
    /// fresh socket has room for 40 bytes).
    ListenerHandshake(Fd socket, const TcpCookie& cookie, std::string peer,
                      std::chrono::steady_clock::time_point deadline);

    /// Reads what arrived (never past the answer: frames after it stay in the socket).
    /// accepted: the proof was right and ours is sent; refused: why() says why.
    State advance();
    int fd() const noexcept { return socket_.get(); }
    Fd take_socket() noexcept { return std::move(socket_); }
    const std::string& peer() const noexcept { return peer_; }
    const std::string& why() const noexcept { return why_; }
    std::chrono::steady_clock::time_point deadline() const noexcept { return deadline_; }

  private:
    State refuse(std::string why, bool tell);

    Fd socket_;
    const TcpCookie* cookie_;
    std::string peer_;
    std::chrono::steady_clock::time_point deadline_;
    handshake::Nonce nonce_{};
    std::array<unsigned char, handshake::answer_size> answer_{};
    std::size_t got_ = 0;
    std::string why_;
};

}  // namespace courier::detail
