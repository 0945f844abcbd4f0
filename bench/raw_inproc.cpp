// Two threads of one process: the same plain SPSC rings, in the heap. The baseline of
// two actors in one node.
#include "raw_mechanism.hpp"
#include "spsc_ring.hpp"

#include <bit>
#include <stdexcept>

namespace courier::bench {

namespace {

std::size_t ring_capacity() {
    return courier_ring_capacity();
}

/// Both rings, shared by the two channels.
struct Rings {
    RingControl controls[2];
    std::vector<std::uint8_t> data[2] = {std::vector<std::uint8_t>(ring_capacity()),
                                         std::vector<std::uint8_t>(ring_capacity())};
};

class ThreadChannel final : public Channel {
  public:
    ThreadChannel(std::shared_ptr<Rings> rings, int out, int in)
        : rings_(std::move(rings)), out_(ring(out)), in_(ring(in)) {}
    void send(std::span<const std::uint8_t> message) override { out_.write(message); }
    void flush() override { out_.flush(); }
    void receive(std::span<std::uint8_t> out) override { in_.read(out); }

  private:
    SpscRing ring(int index) {
        auto i = static_cast<std::size_t>(index);
        return SpscRing(rings_->controls[i], rings_->data[i].data(), ring_capacity(),
                        courier_ring_spin());
    }
    std::shared_ptr<Rings> rings_;
    SpscRing out_, in_;
};

}  // namespace

std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>> thread_channels(bool) {
    auto rings = std::make_shared<Rings>();
    return {std::make_unique<ThreadChannel>(rings, 0, 1),
            std::make_unique<ThreadChannel>(rings, 1, 0)};
}

RawMechanism raw_inproc() {
    return {
        "inproc",
        [] {
            return "two threads, the shm row's SPSC byte rings (" +
                   std::to_string(ring_capacity()) + " bytes) in the heap";
        },
        [](bool) -> std::unique_ptr<Wiring> {
            throw std::logic_error("the in-process baseline runs in one process");
        },
        [](Side, const std::string&) -> std::unique_ptr<Channel> {
            throw std::logic_error("the in-process baseline runs in one process");
        },
    };
}

}  // namespace courier::bench
