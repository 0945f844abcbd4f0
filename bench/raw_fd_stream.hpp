#pragma once
/// @file
/// What the byte-stream mechanisms share (pipe, fifo, unix, tcp): a channel that frames
/// each message with a length and moves it the way a tuned program does, and a wiring
/// that hands already-open descriptors to the peers.
///
/// Writing: messages go into a buffer until the next one does not fit; that one goes
/// with what is buffered in one writev(2), and flush() writes the rest. A request or a
/// large message thus takes one call, header and payload together. Reading: one read(2)
/// takes as much as the kernel has, up to the buffer's size, and messages are parsed out
/// of it; a large message, or the rest of one that is not yet buffered, is read straight
/// into the caller's memory.

#include "raw_mechanism.hpp"

#include <courier/fd.hpp>

#include <sys/uio.h>

#include <memory>

namespace courier::bench {

/// Reads and writes whole, length-prefixed messages on descriptors (`in` may equal
/// `out`: a socket).
class FdStreamChannel final : public Channel {
  public:
    /// Owns both; -1 for a direction that is not used.
    FdStreamChannel(int in, int out, Writes writes = Writes::gathered);
    void send(std::span<const std::uint8_t> message) override;
    void flush() override;
    /// Throws if the next message's length is not `out.size()`.
    void receive(std::span<std::uint8_t> out) override;

    /// Most bytes the writer gathers: half a pipe's default buffer, so one batch fits
    /// while the reader drains the other half.
    static constexpr std::size_t batch_bytes = 32 * 1024;
    /// The reader's buffer: several batches per read(2) when the reader falls behind.
    static constexpr std::size_t read_buffer_bytes = 256 * 1024;
    /// A message (or the rest of one) at least this large is read into place, not
    /// through the buffer.
    static constexpr std::size_t direct_read_bytes = 16 * 1024;

  private:
    /// Writes all of `parts` (gathered) to out_, a stream that may take them in pieces.
    void write_all(std::span<iovec> parts);
    /// Fills all of `parts` from in_.
    void read_all(std::span<iovec> parts);
    /// Reads once into the buffer, after what it holds; throws at end of file.
    void fill();

    std::vector<Fd> owned_;
    int in_, out_;
    Writes writes_;
    std::vector<std::uint8_t> pending_;       ///< framed messages not yet written
    std::unique_ptr<std::uint8_t[]> buffer_;  ///< read, not yet parsed: [begin_, end_)
    std::size_t begin_ = 0, end_ = 0;
};

/// Descriptors made by the orchestrator, inherited by the peers under the same numbers.
class FdWiring final : public Wiring {
  public:
    struct Ends {
        int in = -1, out = -1;
    };
    FdWiring(Ends a, Ends b, std::vector<Fd> owned);
    std::string spec(Side side) const override;
    std::vector<int> fds(Side side) const override;

  private:
    Ends a_, b_;
    std::vector<Fd> owned_;
};

/// The capacity courier's pipe: and fifo: links give their pipes by default (their
/// `pipe_buffer` setting), so the raw pipes are sized like courier's.
std::size_t courier_pipe_buffer();
/// Sets the pipe `fd` is an end of to courier_pipe_buffer(); a refusal (fs.pipe-max-size)
/// keeps the kernel's size, as courier's links do.
void size_like_courier(int pipe_fd) noexcept;

/// How FdStreamChannel moves messages, for the report.
std::string stream_framing(Writes writes = Writes::gathered);

/// Opens the channel of a spec written by FdWiring ("<in>,<out>").
std::unique_ptr<Channel> open_fd_spec(const std::string& spec, Writes writes = Writes::gathered);

/// Splits "x,y" into its two parts; throws std::invalid_argument otherwise.
std::pair<std::string, std::string> split_spec(const std::string& spec);

}  // namespace courier::bench
