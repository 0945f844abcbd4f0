#pragma once
/// @file
/// A link: one connected, bidirectional channel of frames between two endpoints.
///
/// Threading contract: `send` may be called from any thread (a link serializes its
/// writers); `receive` is called by one thread at a time (the node's reactor when
/// `poll_fd()` is readable, or a worker polling a link with
/// Capabilities::memory_polling). Errors: `send` throws LinkError when the link is broken;
/// `receive` reports the peer's end or a protocol violation as its status.

#include <courier/transports/capabilities.hpp>
#include <courier/transports/frame.hpp>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace courier {

/// A link can no longer carry frames (peer gone, frame too large, refused fds).
class LinkError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// What a call to Link::receive found.
struct ReceiveStatus {
    enum class State {
        open,    ///< the link is fine; more frames may come later
        closed,  ///< the peer closed the link cleanly
        failed,  ///< the link broke or the peer violated framing; `reason` says how
    };
    State state = State::open;
    std::string reason;
};

class Link {
  public:
    virtual ~Link() = default;

    virtual const Capabilities& capabilities() const noexcept = 0;
    /// A descriptor that becomes readable when `receive` may have frames for it.
    virtual int poll_fd() const noexcept = 0;
    /// When poll_fd() is a set of several descriptors (an epoll set): those descriptors, for
    /// a caller that watches each itself. The kernel wakes every thread waiting for an epoll
    /// set, but can wake just the first of those waiting for a plain descriptor (a node's
    /// reactor uses that). Empty when poll_fd() is the link's only descriptor.
    virtual std::span<const int> poll_members() const noexcept { return {}; }
    /// Sends one whole frame; blocks while the mechanism is full. Thread-safe.
    /// `priority` (0-255, higher is more urgent) matters only on a transport with
    /// Capabilities::priorities: there a frame overtakes the frames of lower priority
    /// still queued on this link, and frames of one priority keep their order. Elsewhere
    /// every frame keeps send order. Throws LinkError if the frame cannot be sent (broken
    /// link, too large, fds refused).
    ///
    /// Batching: with `more` true the caller says more frames follow soon, and the link
    /// may keep this frame in its own bounded buffer instead of handing it to the
    /// mechanism now (a frame with fds is never kept). With `more` false, every frame
    /// kept so far (by any thread) and this one are handed over before send returns.
    /// Order is send order either way. A failure while writing kept frames throws
    /// LinkError from whichever call writes them, and the link is then broken.
    virtual void send(std::span<const std::byte> bytes, std::span<const int> fds = {},
                      std::uint8_t priority = 0, bool more = false) = 0;
    /// Sends one frame made of `parts` laid end to end, exactly as send() sends their
    /// concatenation (same rules, errors and batching). It lets a layer put a header in
    /// front of bytes it does not own without copying them first (the fragmentation
    /// layer's chunks). The default sends a single part as it is and copies more into one
    /// buffer for send().
    virtual void send_parts(std::span<const std::span<const std::byte>> parts,
                            std::span<const int> fds = {}, std::uint8_t priority = 0,
                            bool more = false);
    /// Sends one whole frame only if the mechanism takes it now, without waiting; false
    /// when it would have to wait (full, or another thread is writing), and then nothing
    /// of it was sent. For the node's own small frames, sent from its reactor thread,
    /// which must never block (heartbeats). Thread-safe; throws LinkError like send. A
    /// transport that declares heartbeat settings (heartbeat.hpp) must implement it: the
    /// default never sends.
    virtual bool try_send(std::span<const std::byte> /*bytes*/) { return false; }
    /// Breaks the link at once: a send() blocked on it, now or later, throws LinkError
    /// instead of waiting for a peer that no longer reads (one that hangs). Any thread.
    /// The default, for links whose sends cannot block forever, does nothing.
    virtual void abort() noexcept {}
    /// Hands every frame kept by `send(..., more = true)` to the mechanism. Thread-safe;
    /// throws LinkError like send. The default, for links that keep nothing, does nothing.
    virtual void flush() {}
    /// As flush(), but writes only what the mechanism takes now, never waiting: true when
    /// nothing kept is left (what try_send began is finished). For a server that must not
    /// wait on a peer that does not read (courierd). The default flushes.
    virtual bool try_flush() {
        flush();
        return true;
    }
    /// Appends every frame that has arrived to `out` without blocking.
    virtual ReceiveStatus receive(std::vector<Frame>& out) = 0;

    // Polling, for links with Capabilities::memory_polling (the defaults suit the rest).
    /// True when frames may be waiting, from a look at memory alone; cheap, any thread.
    virtual bool input_pending() const noexcept { return false; }
    /// `true`: a thread polls input_pending() now, so the peer need not make poll_fd()
    /// readable for new frames (that costs it a system call and wakes a sleeping
    /// reactor). `false`: polling stops; frames that arrived meanwhile and every later
    /// one make poll_fd() readable again. Called by one thread at a time.
    virtual void set_polled(bool) noexcept {}
    /// Human-readable description of the other end, for logs and `courier links`.
    virtual std::string peer() const = 0;
    /// The process at the other end as the kernel tells it: SO_PEERCRED of the unix:
    /// socket the link was made over (unix:, and the rendezvous of fifo:, posixmq:,
    /// sysv: and shm:). 0 where the kernel cannot tell (tcp:, pipe:). The node checks a
    /// peer's claimed name against it (docs/security.md).
    virtual pid_t peer_pid() const noexcept { return 0; }
};

}  // namespace courier
