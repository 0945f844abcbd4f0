#pragma once
/// @file
/// What the byte-stream mechanisms share (pipe, fifo, unix, tcp): a channel that writes
/// each message with one write(2) and reads it back with read(2), and a wiring that hands
/// already-open descriptors to the peers.

#include "raw_mechanism.hpp"

#include <courier/fd.hpp>

namespace courier::bench {

/// Reads and writes whole messages on descriptors (`in` may equal `out`: a socket).
class FdStreamChannel final : public Channel {
  public:
    /// Owns both; -1 for a direction that is not used.
    FdStreamChannel(int in, int out);
    void send(std::span<const std::uint8_t> message) override;
    void receive(std::span<std::uint8_t> out) override;

  private:
    std::vector<Fd> owned_;
    int in_, out_;
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

/// Opens the channel of a spec written by FdWiring ("<in>,<out>").
std::unique_ptr<Channel> open_fd_spec(const std::string& spec);

/// Splits "x,y" into its two parts; throws std::invalid_argument otherwise.
std::pair<std::string, std::string> split_spec(const std::string& spec);

}  // namespace courier::bench
