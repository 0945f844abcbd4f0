#pragma once
/// @file
/// A link over two System V message queues, one per direction.
///
/// Queues cannot be polled, so a waiter thread blocks in msgrcv and hands frames over
/// to receive() through a bounded in-memory queue; poll_fd() is a PollSet of an eventfd
/// and the rendezvous control socket, whose end tells that the peer closed or died.
///
/// Wake path: while an idle worker polls the link (set_polled(true)) the waiter only
/// raises input_pending() in memory, and the worker takes the frame and runs its actor:
/// one thread wake-up per frame, the waiter's, as a raw msgrcv loop has. Otherwise it
/// signals the eventfd, once until receive() takes the frames, and the reactor wakes
/// too. set_polled(false) signals frames handed over meanwhile; the waiter decides
/// under the same lock, so none is stranded. Because the waiter needs a CPU before the
/// poller can see anything, the link declares Capabilities::handover_thread and the
/// poller yields at every turn. (A poller cannot take messages from the queue itself:
/// the kernel hands each one straight to the waiter blocked in msgrcv.)
///
/// Priorities are lanes: a frame of priority p is a message of type 1 + (255 - p), and
/// the waiter takes the lowest type first (msgrcv with a negative msgtyp), FIFO within
/// one type. The frames it holds for receive() (at most 64) are kept in the same order,
/// so an urgent frame overtakes every frame of lower priority not yet handed over.
///
/// Cleanup: each side removes its *incoming* queue when it closes (which also wakes its
/// waiter thread with EIDRM and makes the peer's next msgsnd fail). A side that sees the
/// peer's end first drains its incoming queue (an end marker it posts to itself comes
/// after every data frame) and then removes both, so a SIGKILLed peer leaves nothing.

#include "src/rendezvous.hpp"
#include "sysv/sysv_queue.hpp"

#include <courier/fd.hpp>
#include <courier/transports/link.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace courier::detail {

class SysvLink final : public Link {
  public:
    /// The name of each link's waiter thread (/proc/<pid>/task/<tid>/comm).
    static constexpr const char* waiter_thread_name = "courier-sysv";
    /// Takes over both queues (it removes them as described above).
    SysvLink(ControlChannel control, SysvQueue in_queue, SysvQueue out_queue,
             const TransportOptions& options, std::string description);
    ~SysvLink() override;
    SysvLink(const SysvLink&) = delete;
    SysvLink& operator=(const SysvLink&) = delete;

    const Capabilities& capabilities() const noexcept override { return capabilities_; }
    int poll_fd() const noexcept override { return poll_set_.fd(); }
    void send(std::span<const std::byte> bytes, std::span<const int> fds = {},
              std::uint8_t priority = 0, bool more = false) override;
    /// Copies the parts straight into the message buffer (the type, then the text).
    void send_parts(std::span<const std::span<const std::byte>> parts,
                    std::span<const int> fds = {}, std::uint8_t priority = 0,
                    bool more = false) override;
    ReceiveStatus receive(std::vector<Frame>& out) override;
    /// Frames (or the end) the waiter handed over and receive() has not taken.
    bool input_pending() const noexcept override { return news_.load(std::memory_order_acquire); }
    void set_polled(bool polled) noexcept override;
    std::string peer() const override { return description_; }
    pid_t peer_pid() const noexcept override { return control_.peer_pid(); }

  private:
    void wait_loop();
    /// True when poll_fd() must be made readable (by write_signal(), after the lock is
    /// let go): the first signal since receive() last took frames. Caller holds mutex_.
    bool to_signal() noexcept;
    void write_signal() noexcept;
    ReceiveStatus check_control();
    ReceiveStatus end(ReceiveStatus status);
    [[noreturn]] void fail_send(const std::string& why);

    Capabilities capabilities_;
    std::size_t max_frame_size_;
    std::string description_;
    ControlChannel control_;
    std::mutex control_mutex_;  ///< check() is called by send() and receive()
    // Removed by the owner (receive, destructor) only; their ids stay readable by the
    // waiter and senders.
    SysvQueue in_queue_;
    SysvQueue out_queue_;
    Fd event_;  ///< eventfd: the waiter thread has news
    PollSet poll_set_;

    std::mutex send_mutex_;
    std::vector<long> send_buffer_;  ///< mtype + bytes; guarded by send_mutex_
    std::string send_broken_;        ///< guarded by send_mutex_

    std::mutex mutex_;  ///< guards the fields the waiter shares with receive()
    std::condition_variable room_;
    std::vector<Frame> pending_;  ///< not a deque: a vector keeps its memory between receives
    bool stop_ = false;
    bool signalled_ = false;           ///< a signal was given that receive() has not read yet
    unsigned unread_ = 0;              ///< signals taken whose write had not landed when read
    std::atomic<bool> news_{false};    ///< pending_ or the end wait for receive(); set under mutex_
    std::atomic<bool> polled_{false};  ///< a thread polls input_pending(): the waiter signals not
    bool drained_ = false;             ///< the waiter met the end marker: nothing more will come
    std::optional<std::string> waiter_failed_;

    std::optional<ReceiveStatus> peer_end_;  ///< the control channel's verdict (receive thread)
    bool marker_sent_ = false;
    std::optional<ReceiveStatus> ended_;
    std::thread waiter_;
};

}  // namespace courier::detail
