// System V message queues, one per direction, with the host's default msg_qbytes (as
// courier's sysv: default). A message holds at most msgmax bytes, so a larger payload
// goes as several messages — the split courier's fragmentation layer also makes.
#include "raw_fd_stream.hpp"
#include "raw_mechanism.hpp"

#include <courier/posix_call.hpp>

#include <sys/ipc.h>
#include <sys/msg.h>

#include <algorithm>
#include <cstring>
#include <fstream>

namespace courier::bench {

namespace {

std::size_t msgmax() {
    std::ifstream in("/proc/sys/kernel/msgmax");
    std::size_t value = 0;
    return (in >> value) && value > 0 ? value : 8192;
}

std::size_t msgmnb() {
    std::ifstream in("/proc/sys/kernel/msgmnb");
    std::size_t value = 0;
    return (in >> value) && value > 0 ? value : 16384;
}

class SysvWiring final : public Wiring {
  public:
    explicit SysvWiring(bool duplex) {
        ab_ = create();
        if (duplex) ba_ = create();
    }
    ~SysvWiring() override {
        for (int id : {ab_, ba_})
            if (id >= 0) ::msgctl(id, IPC_RMID, nullptr);
    }
    SysvWiring(const SysvWiring&) = delete;
    SysvWiring& operator=(const SysvWiring&) = delete;
    std::string spec(Side) const override {
        return std::to_string(ab_) + "," + std::to_string(ba_);
    }

  private:
    static int create() {
        return static_cast<int>(
            COURIER_SYSCALL(::msgget, IPC_PRIVATE, IPC_CREAT | 0600).value_or_throw("raw msgget"));
    }
    int ab_ = -1, ba_ = -1;
};

class SysvChannel final : public Channel {
  public:
    SysvChannel(int in, int out) : in_(in), out_(out), piece_(msgmax()) {
        // struct msgbuf: a long mtype, then the text.
        buffer_.resize(1 + (piece_ + sizeof(long) - 1) / sizeof(long));
        buffer_[0] = 1;
    }

    void send(std::span<const std::uint8_t> message) override {
        do {
            auto piece = message.first(std::min(message.size(), piece_));
            std::memcpy(text(), piece.data(), piece.size());
            COURIER_SYSCALL(::msgsnd, out_, buffer_.data(), piece.size(), 0)
                .value_or_throw("raw msgsnd");
            message = message.subspan(piece.size());
        } while (!message.empty());
    }

    void receive(std::span<std::uint8_t> out) override {
        do {
            auto got = COURIER_SYSCALL(::msgrcv, in_, buffer_.data(), piece_, 0L, 0);
            if (!got.ok()) throw system_error_from(got, "raw msgrcv");
            const auto size = static_cast<std::size_t>(got.value);
            if (size > out.size()) throw std::runtime_error("raw msgrcv: an oversized piece");
            std::memcpy(out.data(), text(), size);
            out = out.subspan(size);
        } while (!out.empty());
    }

  private:
    std::uint8_t* text() noexcept { return reinterpret_cast<std::uint8_t*>(buffer_.data() + 1); }
    int in_, out_;
    std::size_t piece_;
    std::vector<long> buffer_;
};

}  // namespace

RawMechanism raw_sysv() {
    return {
        "sysv",
        [] {
            return "msgsnd/msgrcv, msgmax " + std::to_string(msgmax()) + ", msg_qbytes " +
                   std::to_string(msgmnb()) + " (larger payloads in msgmax pieces)";
        },
        [](bool duplex) -> std::unique_ptr<Wiring> { return std::make_unique<SysvWiring>(duplex); },
        [](Side side, const std::string& spec) -> std::unique_ptr<Channel> {
            auto [ab, ba] = split_spec(spec);
            return side == Side::a ? std::make_unique<SysvChannel>(std::stoi(ba), std::stoi(ab))
                                   : std::make_unique<SysvChannel>(std::stoi(ab), std::stoi(ba));
        },
    };
}

}  // namespace courier::bench
