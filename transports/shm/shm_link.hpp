#pragma once
/// @file
/// A link over a shared-memory segment holding one ring per direction.
///
/// The reader is woken only when it sleeps: it sets `reader_sleeping` in the segment
/// before it waits, and the writer signals an eventfd only when it finds the flag set.
/// That eventfd and the rendezvous control socket make the link's poll_fd(). A writer
/// facing a full ring spins for the `spin_us` setting, then sleeps on a second
/// eventfd (signalled by the reader when `writer_sleeping` is set) and the control
/// socket, with a timeout; a peer's death ends the wait with LinkError.
///
/// Polling: while a thread polls the link (set_polled(true)) the reader does not set
/// `reader_sleeping`, so writers signal nothing; when polling stops it sets it and
/// signals its own eventfd if records are waiting, and the reactor takes over.
///
/// Batching: a frame sent with `more` is written and published at once, like any other,
/// but the sleeping-reader check waits for the next send without `more` or flush().
/// A writer about to sleep on a full ring does that check first: a reader asleep on
/// published records would otherwise never free the room.
///
/// Lending (LendingLink, asked for by the fragmentation layer): a record above
/// `lend_above` bytes that does not wrap around the ring's end is received as a view of
/// the ring; its room is freed, and a writer waiting for room woken, when it is given back.

#include "shm/shm_ring.hpp"
#include "src/created_name.hpp"
#include "src/lending_link.hpp"
#include "src/rendezvous.hpp"

#include <courier/fd.hpp>
#include <courier/transports/link.hpp>

#include <boost/interprocess/mapped_region.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>

namespace courier::detail {

/// The descriptors of a segment, in setup-frame order: for ring 0 then ring 1, the
/// "data published" eventfd and the "room freed" eventfd.
using ShmEvents = std::array<Fd, 4>;

class ShmLink final : public Link, public LendingLink {
  public:
    /// `side` 0 is the listener (writes ring 0, reads ring 1), 1 the connector.
    /// `owned_name`, when it holds one, is the segment name this side removes when the link
    /// ends (the listener's safety net; the connector removes it right after mapping).
    ShmLink(ControlChannel control, boost::interprocess::mapped_region region, int side,
            ShmEvents events, const TransportOptions& options, CreatedName owned_name,
            std::string description);
    ~ShmLink() override;
    ShmLink(const ShmLink&) = delete;
    ShmLink& operator=(const ShmLink&) = delete;

    const Capabilities& capabilities() const noexcept override { return capabilities_; }
    int poll_fd() const noexcept override { return poll_set_.fd(); }
    void send(std::span<const std::byte> bytes, std::span<const int> fds = {},
              std::uint8_t priority = 0, bool more = false) override;
    /// The parts go straight into one ring record.
    void send_parts(std::span<const std::span<const std::byte>> parts,
                    std::span<const int> fds = {}, std::uint8_t priority = 0,
                    bool more = false) override;
    void flush() override;
    ReceiveStatus receive(std::vector<Frame>& out) override;
    bool input_pending() const noexcept override { return in_.pending(); }
    void set_polled(bool polled) noexcept override;
    std::string peer() const override { return description_; }
    pid_t peer_pid() const noexcept override { return control_.peer_pid(); }

    /// Records of more bytes than this are lent: a smaller one is copied cheaply, and a
    /// batch of them keeps freeing room as it is read.
    static constexpr std::size_t lend_above = std::size_t{64} << 10;
    void start_lending() noexcept override { lending_ = true; }
    void give_back(std::span<const std::byte> lent) noexcept override;

  private:
    void wait_for_room(std::uint64_t needed);
    /// Wakes the reader if it sleeps. Caller holds send_mutex_.
    void wake_reader();
    /// Reads published records; false if one is malformed.
    bool drain(std::vector<Frame>& out);
    /// Wakes a writer that sleeps for room. Called after `tail` moved.
    void room_freed() noexcept;
    /// Sets `reader_sleeping` so the next record signals; signals now if one is waiting.
    /// `reader`: called by the thread in receive(), which knows what it read; any other
    /// thread counts records still lent as waiting (a needless signal at worst).
    void arm_signal(bool reader) noexcept;
    ReceiveStatus check_control();
    ReceiveStatus end(ReceiveStatus status);
    [[noreturn]] void fail_send(const std::string& why);

    Capabilities capabilities_;
    std::size_t max_frame_size_;
    std::chrono::microseconds spin_;
    std::string description_;
    ControlChannel control_;
    std::mutex control_mutex_;  ///< check() is called by send() and receive()
    boost::interprocess::mapped_region region_;
    ShmRing out_;
    ShmRing in_;
    ShmEvents events_;
    int out_data_, out_room_, in_data_, in_room_;  ///< views into events_
    PollSet poll_set_;
    CreatedName owned_name_;  ///< the segment's, on the listener's side

    std::mutex send_mutex_;
    std::string send_broken_;   ///< guarded by send_mutex_
    bool unsignalled_ = false;  ///< records published since the last wake_reader; guarded
    std::optional<ReceiveStatus> ended_;
    std::atomic<bool> polled_{false};
    bool lending_ = false;
};

}  // namespace courier::detail
