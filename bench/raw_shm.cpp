// Shared memory: a memfd holding two plain SPSC rings (one per direction) of the size of
// courier's shm: default ring, with the same spin before sleeping (TransportSettings).
#include "raw_fd_stream.hpp"
#include "spsc_ring.hpp"

#include <courier/posix_call.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <new>
#include <string_view>

namespace courier::bench {

namespace {

std::size_t ring_capacity() {
    return courier_ring_capacity();
}
std::chrono::microseconds spin() {
    return courier_ring_spin();
}
std::size_t segment_size() {
    return 2 * SpscRing::footprint(ring_capacity());
}

/// A MAP_SHARED mapping of a whole descriptor, unmapped on destruction.
class Mapping {
  public:
    Mapping(int fd, std::size_t size) : size_(size) {
        void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "raw mmap");
        address_ = static_cast<std::uint8_t*>(p);
    }
    ~Mapping() { ::munmap(address_, size_); }
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    std::uint8_t* ring(int index) const noexcept {
        return address_ + static_cast<std::size_t>(index) * SpscRing::footprint(ring_capacity());
    }

  private:
    std::uint8_t* address_ = nullptr;
    std::size_t size_;
};

class ShmWiring final : public Wiring {
  public:
    ShmWiring()
        : memory_(static_cast<int>(
              COURIER_SYSCALL(::memfd_create, "courier-bench-rings", unsigned{MFD_CLOEXEC})
                  .value_or_throw("raw memfd_create"))) {
        COURIER_SYSCALL(::ftruncate, memory_.get(), static_cast<off_t>(segment_size()))
            .value_or_throw("raw ftruncate");
        Mapping mapping(memory_.get(), segment_size());
        for (int i = 0; i < 2; ++i) new (mapping.ring(i)) RingControl();
    }
    std::string spec(Side) const override { return std::to_string(memory_.get()) + ",0"; }
    std::vector<int> fds(Side) const override { return {memory_.get()}; }

  private:
    Fd memory_;
};

class ShmChannel final : public Channel {
  public:
    ShmChannel(Fd memory, Side side)
        : mapping_(memory.get(), segment_size()),
          out_(ring(side == Side::a ? 0 : 1)),
          in_(ring(side == Side::a ? 1 : 0)) {}
    void send(std::span<const std::uint8_t> message) override { out_.write(message); }
    void flush() override { out_.flush(); }
    void receive(std::span<std::uint8_t> out) override { in_.read(out); }

  private:
    SpscRing ring(int index) {
        auto* control = std::launder(reinterpret_cast<RingControl*>(mapping_.ring(index)));
        return SpscRing(*control, mapping_.ring(index) + sizeof(RingControl), ring_capacity(),
                        spin());
    }
    Mapping mapping_;
    SpscRing out_, in_;
};

}  // namespace

RawMechanism raw_shm() {
    return {
        "shm",
        [] {
            return "memfd with two SPSC byte rings of " + std::to_string(ring_capacity()) +
                   " bytes, positions cached and published every " +
                   std::to_string(SpscRing::batch(ring_capacity()) / 1024) +
                   " KiB or on flush (acquire/release), spin " + std::to_string(spin().count()) +
                   " us (yielding every 64 turns), then futex";
        },
        [](bool) -> std::unique_ptr<Wiring> { return std::make_unique<ShmWiring>(); },
        [](Side side, const std::string& spec) -> std::unique_ptr<Channel> {
            return std::make_unique<ShmChannel>(Fd(std::stoi(split_spec(spec).first)), side);
        },
    };
}

}  // namespace courier::bench
