// Fuzzes the fragmentation layer (transports/src/fragmenting_link.cpp): the reassembly of
// chunks into frames, per priority, of packed chunks into frames, and its refusals, over
// an in-memory link that delivers whatever chunks the input says.
//
// Input: a settings byte, then records.
//   settings: bits 0-1 the native frame limit (10, 16, 64, 255 bytes), bits 2-3 the
//   largest frame (16, 100, 1000, 65536 bytes), bit 4 the inner link lends its chunks
//   (LendingLink, as shm: does), bit 5 the mode.
//   Mode 0, raw chunks to a receiving FragmentingLink; a record is [control][n][n bytes]:
//     control bits 0-1 the chunk's priority, bits 2-3 how it arrives (0 and 3 in a buffer
//     of its own, 1 viewing a shared buffer, 2 lent, on a lending link), bit 4 with a
//     descriptor, bit 5 the last chunk of a receive() batch, bit 6 the peer closes after the
//     batch, bit 7 the link fails after it.
//   Mode 1, a round trip: a record is [control][n lo][n hi][n bytes], a frame sent through
//     a FragmentingLink with priority control & 3, `more` (bit 2), a flush after it (bit 3)
//     and a descriptor (bit 4); the chunks it sent are then received by another.
// What must hold: no crash, leak or sanitizer report; every frame received is at most the
// largest frame, views no lent memory (given back memory is freed here, so ASan sees a
// frame that kept it) and carries the descriptors its first chunk did; a receiver that
// reported the end reports it again; and in a round trip every frame arrives whole, with
// its descriptor, in order within its priority, in chunks within the native limit.

#include "src/fragmenting_link.hpp"

#include <courier/transports/link.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace {

using courier::Fd;
using courier::Frame;
using courier::ReceiveStatus;
using State = ReceiveStatus::State;

constexpr std::array<std::size_t, 4> limits{10, 16, 64, 255};
constexpr std::array<std::size_t, 4> frame_limits{16, 100, 1000, 65536};

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "fragment_fuzz: %s\n", what);
    std::abort();
}

/// A descriptor to send along: one of /dev/null, fresh each time.
Fd some_fd() {
    return Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

/// Reads the input front to back; past its end, zeros.
struct Reader {
    std::span<const std::uint8_t> data;
    std::size_t at = 0;

    bool done() const { return at >= data.size(); }
    std::uint8_t byte() { return done() ? 0 : data[at++]; }
    std::span<const std::byte> bytes(std::size_t n) {
        n = std::min(n, data.size() - std::min(at, data.size()));
        const auto* first = reinterpret_cast<const std::byte*>(data.data() + at);
        at += n;
        return {first, n};
    }
};

/// One chunk as the inner link hands it over.
struct Chunk {
    std::vector<std::byte> bytes;
    std::uint8_t priority = 0;
    enum class Way { own, shared, lent } way = Way::own;
    bool fd = false;
};

/// One receive(): its chunks, and the status it returns.
struct Batch {
    std::vector<Chunk> chunks;
    State state = State::open;
};

/// The inner link: receive() hands over the batches of a script, one per call; send()
/// records the chunks sent, which a script can then deliver.
class ScriptedLink : public courier::Link {
  public:
    explicit ScriptedLink(std::size_t limit) { capabilities_.native_frame_limit = limit; }
    ScriptedLink(std::size_t limit, bool fd_passing) : ScriptedLink(limit) {
        capabilities_.fd_passing = fd_passing;
        capabilities_.priorities = true;
    }

    const courier::Capabilities& capabilities() const noexcept override { return capabilities_; }
    int poll_fd() const noexcept override { return -1; }
    std::string peer() const override { return "fuzz"; }

    void send(std::span<const std::byte> bytes, std::span<const int> fds, std::uint8_t priority,
              bool /*more*/) override {
        if (bytes.size() > capabilities_.native_frame_limit)
            broken("a chunk larger than the native limit was sent");
        if (fds.size() > 1) broken("more descriptors were sent than a frame had");
        Chunk chunk{{bytes.begin(), bytes.end()}, priority, Chunk::Way::own, !fds.empty()};
        sent.push_back(std::move(chunk));
    }

    ReceiveStatus receive(std::vector<Frame>& out) override {
        take_back_lent();
        if (script.empty()) return {};
        Batch batch = std::move(script.front());
        script.pop_front();
        for (auto& chunk : batch.chunks) out.push_back(frame_of(std::move(chunk)));
        if (batch.state == State::failed) return {State::failed, "the script broke the link"};
        return {batch.state, {}};
    }

    std::deque<Batch> script;
    std::vector<Chunk> sent;

  protected:
    virtual Frame frame_of(Chunk chunk) {
        Frame frame;
        frame.priority = chunk.priority;
        if (chunk.fd) frame.fds.push_back(some_fd());
        if (chunk.way == Chunk::Way::shared) {
            // In the middle of a larger buffer, as the frames of one stream read are.
            std::vector<std::byte> buffer(3, std::byte{0xee});
            buffer.insert(buffer.end(), chunk.bytes.begin(), chunk.bytes.end());
            buffer.push_back(std::byte{0xee});
            frame.shared = courier::SharedBytes(std::move(buffer));
            frame.view = frame.shared.bytes().subspan(3, chunk.bytes.size());
        } else {
            frame.bytes = std::move(chunk.bytes);
        }
        return frame;
    }
    virtual void take_back_lent() {}

  private:
    courier::Capabilities capabilities_;
};

/// The same, lending chunks out of memory of its own, each in a heap block of its own that
/// is freed as soon as it is given back: a frame that kept a view of it is a
/// use-after-free for ASan.
class LendingScriptedLink final : public ScriptedLink, public courier::detail::LendingLink {
  public:
    using ScriptedLink::ScriptedLink;

    void start_lending() noexcept override { lending_ = true; }
    void give_back(std::span<const std::byte> lent) noexcept override {
        if (lent_.empty() || lent.data() != lent_.front()->data() ||
            lent.size() != lent_.front()->size())
            broken("a lent chunk was given back out of order, or one never lent");
        lent_.pop_front();
    }

  protected:
    Frame frame_of(Chunk chunk) override {
        // An empty chunk cannot be lent: a lent frame is one whose view is not empty.
        if (chunk.way != Chunk::Way::lent || !lending_ || chunk.bytes.empty())
            return ScriptedLink::frame_of(std::move(chunk));
        lent_.push_back(std::make_unique<std::vector<std::byte>>(std::move(chunk.bytes)));
        Frame frame;
        frame.priority = chunk.priority;
        if (chunk.fd) frame.fds.push_back(some_fd());
        frame.view = std::span<const std::byte>(*lent_.back());
        return frame;
    }
    void take_back_lent() override { lent_.clear(); }

  private:
    bool lending_ = false;
    std::deque<std::unique_ptr<std::vector<std::byte>>> lent_;
};

std::unique_ptr<ScriptedLink> inner_link(std::uint8_t settings, bool fd_passing) {
    const std::size_t limit = limits[settings & 3U];
    if ((settings & 0x10U) != 0) return std::make_unique<LendingScriptedLink>(limit, fd_passing);
    return std::make_unique<ScriptedLink>(limit, fd_passing);
}

courier::TransportOptions options_of(std::uint8_t settings) {
    courier::TransportOptions options;
    options.max_frame_size = frame_limits[(settings >> 2) & 3U];
    return options;
}

/// Receives until the script is done or the link ends; returns what arrived.
std::vector<Frame> receive_all(courier::Link& receiver, const ScriptedLink& inner,
                               std::size_t max_frame) {
    std::vector<Frame> frames;
    for (;;) {
        const bool last = inner.script.empty();
        std::vector<Frame> batch;
        const ReceiveStatus status = receiver.receive(batch);
        for (auto& frame : batch) {
            const auto bytes = frame.data();
            if (bytes.size() > max_frame) broken("a frame above the largest was delivered");
            if (frame.fds.size() > 1) broken("a frame came with descriptors it was not sent");
            volatile unsigned sum = 0;  // reads every byte: ASan checks the memory is live
            for (std::byte b : bytes) sum = sum + static_cast<unsigned>(b);
            frames.push_back(std::move(frame));
        }
        if (status.state != State::open) {
            std::vector<Frame> more;
            const ReceiveStatus again = receiver.receive(more);
            if (again.state != status.state || !more.empty())
                broken("a link that ended did not say so again");
            return frames;
        }
        if (last) return frames;
    }
}

void raw_chunks(std::uint8_t settings, Reader& in) {
    auto owned = inner_link(settings, true);
    ScriptedLink& inner = *owned;
    Batch batch;
    while (!in.done()) {
        const std::uint8_t control = in.byte();
        Chunk chunk;
        const auto bytes = in.bytes(in.byte());
        chunk.bytes.assign(bytes.begin(), bytes.end());
        chunk.priority = control & 3U;
        const unsigned way = (control >> 2) & 3U;
        chunk.way = way == 1 ? Chunk::Way::shared : way == 2 ? Chunk::Way::lent : Chunk::Way::own;
        chunk.fd = (control & 0x10U) != 0;
        batch.chunks.push_back(std::move(chunk));
        if ((control & 0xe0U) != 0 || in.done()) {
            if ((control & 0x80U) != 0) {
                batch.state = State::failed;
            } else if ((control & 0x40U) != 0) {
                batch.state = State::closed;
            }
            inner.script.push_back(std::move(batch));
            batch = Batch{};
        }
    }
    courier::detail::FragmentingLink receiver(std::move(owned), options_of(settings));
    (void)receive_all(receiver, inner, options_of(settings).max_frame_size);
}

struct Sent {
    std::vector<std::byte> bytes;
    bool fd = false;
};

void round_trip(std::uint8_t settings, Reader& in) {
    auto sender_inner = std::make_unique<ScriptedLink>(limits[settings & 3U], true);
    ScriptedLink& chunks = *sender_inner;
    const auto options = options_of(settings);
    courier::detail::FragmentingLink sender(std::move(sender_inner), options);
    std::map<std::uint8_t, std::vector<Sent>> sent;  // by priority, in order
    while (!in.done()) {
        const std::uint8_t control = in.byte();
        std::size_t n = in.byte();
        n |= std::size_t{in.byte()} << 8;
        const auto bytes = in.bytes(n);
        const std::uint8_t priority = control & 3U;
        const bool with_fd = (control & 0x10U) != 0;
        const Fd fd = with_fd ? some_fd() : Fd();
        const std::array<int, 1> fds{fd.get()};
        try {
            sender.send(bytes, with_fd ? std::span<const int>(fds) : std::span<const int>{},
                        priority, (control & 0x04U) != 0);
            if (bytes.size() > options.max_frame_size) broken("a frame above the largest went");
            sent[priority].push_back({{bytes.begin(), bytes.end()}, with_fd});
            if ((control & 0x08U) != 0) sender.flush();
        } catch (const courier::LinkError&) {
            if (bytes.size() <= options.max_frame_size) broken("a frame that fits was refused");
        }
    }
    sender.flush();

    auto owned = inner_link(settings, true);
    ScriptedLink& inner = *owned;
    Batch batch;
    for (auto& chunk : chunks.sent) {
        chunk.way = Chunk::Way::lent;  // lent where the receiving link lends
        batch.chunks.push_back(std::move(chunk));
    }
    inner.script.push_back(std::move(batch));
    courier::detail::FragmentingLink receiver(std::move(owned), options);
    auto frames = receive_all(receiver, inner, options.max_frame_size);

    std::map<std::uint8_t, std::size_t> next;  // by priority: the next frame sent
    for (const auto& frame : frames) {
        auto& expected = sent[frame.priority];
        std::size_t& i = next[frame.priority];
        if (i >= expected.size()) broken("a frame arrived that was never sent");
        const auto bytes = frame.data();
        if (!std::equal(bytes.begin(), bytes.end(), expected[i].bytes.begin(),
                        expected[i].bytes.end()))
            broken("a frame arrived other than it was sent, or out of order");
        if (frame.fds.size() != (expected[i].fd ? 1U : 0U))
            broken("a frame arrived without its descriptor");
        ++i;
    }
    for (const auto& [priority, expected] : sent)
        if (next[priority] != expected.size()) broken("a frame sent never arrived");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Reader in{{data, size}};
    const std::uint8_t settings = in.byte();
    if ((settings & 0x20U) != 0) {
        round_trip(settings, in);
    } else {
        raw_chunks(settings, in);
    }
    return 0;
}
