// Fuzzes the listening side of tcp:'s cookie handshake (transports/tcp/tcp_handshake.cpp):
// a ListenerHandshake on one end of a socketpair(AF_UNIX, SOCK_STREAM), the stream socket it
// needs, fed by the fuzzer as the connector on the other end, a write at a time.
//
// Input: a flags byte, then writes [n][n bytes]: the bytes the connector sends, in those
// pieces, advance() called after each. Flags: bit 0 puts the right proof (HMAC with the
// cookie over the listener's nonce, which is fresh each time, and the connector's nonce of
// bytes 8-39) in bytes 40-71 of the stream, so the fuzzer reaches the accepting side too;
// bit 1 closes the connector's sending side after the last write.
// What must hold: no crash or sanitizer report; accepted only for a stream that begins
// with courier's magic and the right proof, and then always; once accepted, the listener's
// verdict is '+' and its own right proof, and every byte after the answer is still in the
// socket; refused with a reason; still waiting only while the answer is short and open.

#include "tcp/tcp_handshake.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

namespace handshake = courier::detail::handshake;
using courier::detail::ListenerHandshake;
using State = ListenerHandshake::State;

/// As tcp_handshake.cpp names the two ends in the proofs.
constexpr const char* connector_role = "courier tcp connector";
constexpr const char* listener_role = "courier tcp listener";

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "handshake_fuzz: %s\n", what);
    std::abort();
}

const courier::detail::TcpCookie& cookie() {
    static const courier::detail::TcpCookie fixed{std::vector<unsigned char>(32, 'k'), "fuzz"};
    return fixed;
}

void write_all(int fd, const std::uint8_t* bytes, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::send(fd, bytes, size, MSG_NOSIGNAL);
        if (n <= 0) return;  // the listener closed: nothing more to say
        bytes += n;
        size -= static_cast<std::size_t>(n);
    }
}

/// Reads what is in `fd` now, without waiting.
std::vector<std::uint8_t> waiting_bytes(int fd) {
    std::vector<std::uint8_t> bytes(64 * 1024);
    const ssize_t n = ::recv(fd, bytes.data(), bytes.size(), MSG_DONTWAIT);
    bytes.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t flags = data[0];

    // The connector's stream, and where it is cut into writes.
    std::vector<std::uint8_t> stream;
    std::vector<std::size_t> writes;
    for (std::size_t at = 1; at < size;) {
        const std::size_t n = std::min<std::size_t>(data[at], size - at - 1);
        stream.insert(stream.end(), data + at + 1, data + at + 1 + n);
        writes.push_back(n);
        at += 1 + n;
    }

    std::array<int, 2> ends{};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends.data()) != 0)
        broken("socketpair");
    const int connector = ends[1];
    ListenerHandshake listener(courier::Fd(ends[0]), cookie(), "fuzz",
                               std::chrono::steady_clock::now() + std::chrono::seconds(5));

    std::array<std::uint8_t, handshake::challenge_size> challenge{};
    if (::recv(connector, challenge.data(), challenge.size(), MSG_WAITALL) !=
            static_cast<ssize_t>(challenge.size()) ||
        !std::equal(handshake::magic.begin(), handshake::magic.end(), challenge.begin()))
        broken("the listener's challenge is not magic and a nonce");
    handshake::Nonce ours{};  // the listener's
    std::copy_n(challenge.begin() + handshake::magic.size(), ours.size(), ours.begin());

    constexpr std::size_t proof_at = handshake::magic.size() + handshake::nonce_size;
    handshake::Nonce theirs{};  // the connector's, if the stream holds one
    if (stream.size() >= proof_at)
        std::copy_n(stream.begin() + handshake::magic.size(), theirs.size(), theirs.begin());
    const handshake::Proof right = handshake::prove(cookie(), connector_role, ours, theirs);
    if ((flags & 1U) != 0 && stream.size() >= handshake::answer_size)
        std::copy(right.begin(), right.end(), stream.begin() + proof_at);
    const bool knows =
        stream.size() >= handshake::answer_size &&
        std::equal(handshake::magic.begin(), handshake::magic.end(), stream.begin()) &&
        std::equal(right.begin(), right.end(), stream.begin() + proof_at);

    State state = State::waiting;
    std::size_t written = 0;
    for (const std::size_t n : writes) {
        write_all(connector, stream.data() + written, n);
        written += n;
        state = listener.advance();
        if (state != State::waiting) break;
    }
    const bool closed = state == State::waiting && (flags & 2U) != 0;
    if (closed) {
        ::shutdown(connector, SHUT_WR);
        state = listener.advance();
    }

    switch (state) {
        case State::accepted: {
            if (!knows) broken("accepted a connector that does not know the cookie");
            const auto verdict = waiting_bytes(connector);
            const handshake::Proof mine = handshake::prove(cookie(), listener_role, theirs, ours);
            if (verdict.size() != handshake::verdict_size || verdict[0] != handshake::accepted ||
                !std::equal(mine.begin(), mine.end(), verdict.begin() + 1))
                broken("the verdict is not '+' and the listener's proof");
            const auto after = waiting_bytes(listener.fd());
            if (!std::equal(after.begin(), after.end(), stream.begin() + handshake::answer_size,
                            stream.begin() + static_cast<std::ptrdiff_t>(written)))
                broken("the handshake took bytes after the answer");
            break;
        }
        case State::refused:
            if (knows && written >= handshake::answer_size)
                broken("refused a connector that knows the cookie");
            if (listener.why().empty()) broken("refused without a reason");
            break;
        case State::waiting:
            if (written >= handshake::answer_size) broken("still waiting after a whole answer");
            if (closed) broken("still waiting after the connector closed");
            break;
    }
    ::close(connector);
    return 0;
}
