#pragma once
/// @file
/// What the transport tests share: a fixture per transport (how to make a fresh endpoint
/// for it), a private temp directory, helpers that wait with deadlines, and forked
/// children that are always reaped.

#include <courier/fd.hpp>
#include <courier/transports/endpoint.hpp>
#include <courier/transports/frame.hpp>
#include <courier/transports/link.hpp>
#include <courier/transports/listener.hpp>
#include <courier/transports/owner.hpp>
#include <courier/transports/transport.hpp>

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace courier::test {

/// True when `a` and `b` hold the same bytes (a received frame's data() and what was sent).
inline bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
/// Long enough for a loaded CI machine, short enough that a hang fails the test. A
/// sanitized build runs several times slower (posixmq's 100,000 frames took 30 s).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr milliseconds deadline{120'000};
#else
inline constexpr milliseconds deadline{20'000};
#endif

/// A fresh private directory (0700) under $TMPDIR, removed with its contents.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const noexcept { return path_; }

  private:
    std::filesystem::path path_;
};

/// "<stem>-<pid>-<counter>": unique across the processes `ctest -j` runs at once.
std::string unique_name(std::string_view stem);

/// How the suite drives one transport.
struct TransportFixture {
    std::string name;  ///< shown as the Catch2 section, e.g. "unix path"
    /// A fresh endpoint nobody else uses; `dir` is there for file-backed names.
    std::function<Endpoint(const TempDir& dir)> endpoint;
    /// A raw byte-stream connection to a listening endpoint, for tests that forge
    /// framing; empty for transports that are not byte streams.
    std::function<Fd(const Endpoint&)> raw_connect;
    /// False for a transport whose links are made by spawning a child (pipe:): it has no
    /// listener, and connect_pair makes its pairs with TransportRegistry::child_link.
    bool listens = true;
};

/// Every transport the conformance suite runs against: one line per transport.
const std::vector<TransportFixture>& transport_fixtures();

Endpoint unix_path_endpoint(const TempDir& dir);
Endpoint unix_abstract_endpoint();
Fd unix_raw_connect(const Endpoint& endpoint);
/// fifo:<dir>/fifo-<pid>-<n>: the FIFOs of its links are made (and at once removed) in `dir`.
Endpoint fifo_endpoint(const TempDir& dir);
/// posixmq:/courier-test-<pid>-<n>: the queues of its links are named after it.
Endpoint posixmq_endpoint();
/// tcp://127.0.0.1:0 — loopback only, the kernel picks a free port.
Endpoint tcp_loopback_endpoint();
Fd tcp_raw_connect(const Endpoint& endpoint);

/// pipe: — only the scheme counts; connect_pair makes the link with child_link.
Endpoint pipe_endpoint();

/// sysv:courier-test-<pid>-<n> — a rendezvous name; the queues are private.
Endpoint sysv_endpoint();
/// shm:/courier-test-<pid>-<n>
Endpoint shm_endpoint();

/// Waits until `fd` is readable; false if `timeout` passed first.
bool wait_readable(int fd, milliseconds timeout = deadline);
/// Checks `condition` every `every` until it holds or `timeout` passes, for states with no
/// descriptor to wait on (a thread asleep, a file gone). Returns the last result.
bool wait_until(const std::function<bool()>& condition, milliseconds timeout = deadline,
                std::chrono::microseconds every = std::chrono::microseconds(200));
/// True when thread `tid` of this process is asleep (state S in /proc): a sender that
/// waits for room in a full mechanism. False for tid 0 (not started).
bool thread_asleep(pid_t tid);
/// Sends small frames until one throws LinkError: true if that happens within `timeout`.
/// Some mechanisms learn that the peer is gone only on a later write.
bool send_fails_within(Link& link, milliseconds timeout = deadline);

/// A listener with one link connected to it, seen from both ends. For a transport that
/// links children (pipe:), the "listener" is a stand-in that describes the child's
/// endpoint and accepts nothing; the client adopted the child's ends in this process.
struct Connected {
    std::unique_ptr<Listener> listener;
    std::unique_ptr<Link> client;  ///< the connect() end
    std::unique_ptr<Link> server;  ///< the accept() end
};
Connected connect_pair(const Endpoint& endpoint, const TransportOptions& options = {});
/// Accepts one link within the deadline (REQUIREs it).
std::unique_ptr<Link> accept_one(Listener& listener, milliseconds timeout = deadline);
/// A raw connection to `listener` (fixture.raw_connect, run beside the accept: tcp:'s
/// handshake needs both ends) and the link the listener accepted for it.
struct RawAccepted {
    Fd raw;
    std::unique_ptr<Link> server;
};
RawAccepted raw_accepted(const TransportFixture& fixture, Listener& listener);

struct Received {
    std::vector<Frame> frames;
    ReceiveStatus status;
};
/// Receives until `count` frames have arrived, the link ended, or `timeout` passed.
Received receive_frames(Link& link, std::size_t count, milliseconds timeout = deadline);
/// Receives until the link reports closed or failed (or `timeout` passes).
Received receive_until_end(Link& link, milliseconds timeout = deadline);

/// Deterministic bytes, different for each seed, so a shifted or mixed frame shows.
std::vector<std::byte> pattern(std::size_t size, std::uint32_t seed);
/// Writes all of `bytes` to a raw fd (blocking fd).
void write_raw(int fd, std::span<const std::byte> bytes);
/// The 4-byte little-endian prefix of the stream framing.
std::vector<std::byte> length_prefix(std::uint32_t length);

/// A forked child running `body`; its return value is the exit code, an exception
/// exits 100. Destroying a child still running kills and reaps it.
class Child {
  public:
    explicit Child(const std::function<int()>& body);
    ~Child();
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    /// The exit code, or -1 if it did not exit within `timeout` (it is then killed).
    int wait(milliseconds timeout = deadline);

  private:
    pid_t pid_ = -1;
};

/// Every Child forked so far, oldest first (Leftovers looks for what they made).
const std::vector<Owner>& forked_children();

/// Runs `body` on a thread and rethrows what it threw at join(). If the test fails
/// first, `unblock` runs before the join (typically: close the peer, so a send blocked
/// on a full link fails instead of hanging the test).
class Sender {
  public:
    Sender(std::function<void()> body, std::function<void()> unblock)
        : unblock_(std::move(unblock)), thread_([this, body = std::move(body)] {
              try {
                  body();
              } catch (...) {
                  error_ = std::current_exception();
              }
          }) {}
    ~Sender() {
        if (!thread_.joinable()) return;
        unblock_();
        thread_.join();
    }
    void join() {
        thread_.join();
        if (error_) std::rethrow_exception(error_);
    }

  private:
    std::function<void()> unblock_;
    std::exception_ptr error_;
    std::thread thread_;
};

/// A pipe a forked child writes to when it is ready, optionally with a short message
/// (e.g. the endpoint it bound).
struct ReadySignal {
    Fd read_end, write_end;
    ReadySignal();
    /// One write of at most PIPE_BUF bytes, so the parent reads it whole.
    void signal(std::string_view message = "r") const;
    /// True when the child signalled within the deadline.
    bool wait() const { return wait_readable(read_end.get()); }
    /// The message, once the child signalled; empty if it did not within the deadline.
    std::string message() const;
};

/// Body of a child that connects to `endpoint`, sends one frame and waits to be killed.
int connect_and_stay(const Endpoint& endpoint);

}  // namespace courier::test
