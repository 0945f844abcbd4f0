// POSIX message queues, one per direction, with courier's default attributes (mq_maxmsg
// and mq_msgsize of TransportSettings): a payload above mq_msgsize goes as several
// messages, as courier's fragmentation layer sends it.
#include "raw_fd_stream.hpp"
#include "raw_mechanism.hpp"

#include <courier/framework/config.hpp>
#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <mqueue.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <utility>

namespace courier::bench {

namespace {

long proc_limit(const char* path, long fallback) {
    std::ifstream in(path);
    long value = 0;
    return (in >> value) ? value : fallback;
}

struct QueueShape {
    long max_messages, message_size;
};

/// What courier's posixmq transport picks with its defaults (docs/transports/posixmq.md):
/// at most 10 messages of at most 8 KiB, within what this host allows.
QueueShape queue_shape() {
    return {std::min(10L, proc_limit("/proc/sys/fs/mqueue/msg_max", 10)),
            std::min(8192L, proc_limit("/proc/sys/fs/mqueue/msgsize_max", 8192))};
}

class MqWiring final : public Wiring {
  public:
    explicit MqWiring(bool duplex) {
        static std::atomic<int> counter{0};
        const std::string stem =
            "/courier-bench-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
        create(ab_ = stem + "-ab");
        if (duplex) create(ba_ = stem + "-ba");
    }
    ~MqWiring() override { opened(); }
    std::string spec(Side) const override { return ab_ + "," + ba_; }
    /// The peers hold the queues now: remove the names (the queues live until closed).
    void opened() override {
        if (std::exchange(unlinked_, true)) return;
        for (const auto* name : {&ab_, &ba_})
            if (!name->empty()) ::mq_unlink(name->c_str());
    }

  private:
    void create(const std::string& name) {
        const auto shape = queue_shape();
        mq_attr attr{};
        attr.mq_maxmsg = shape.max_messages;
        attr.mq_msgsize = shape.message_size;
        auto made = COURIER_SYSCALL(::mq_open, name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
                                    mode_t{0600}, &attr);
        if (!made.ok())
            throw system_error_from(
                made, "raw posixmq " + name + " (RLIMIT_MSGQUEUE and fs.mqueue limits apply)");
        Fd created(static_cast<int>(made.value));  // on Linux a queue descriptor is an fd
    }
    std::string ab_, ba_;
    bool unlinked_ = false;
};

class MqChannel final : public Channel {
  public:
    MqChannel(const std::string& in, const std::string& out)
        : in_(open(in, O_RDONLY)), out_(open(out, O_WRONLY)) {
        mq_attr attr{};
        const int any = in_ ? in_.get() : out_.get();
        COURIER_SYSCALL(::mq_getattr, any, &attr).value_or_throw("raw mq_getattr");
        piece_ = static_cast<std::size_t>(attr.mq_msgsize);
        scratch_.resize(piece_);
    }

    void send(std::span<const std::uint8_t> message) override {
        do {
            auto piece = message.first(std::min(message.size(), piece_));
            auto* bytes = reinterpret_cast<const char*>(piece.data());
            COURIER_SYSCALL(::mq_send, out_.get(), bytes, piece.size(), 0u)
                .value_or_throw("raw mq_send");
            message = message.subspan(piece.size());
        } while (!message.empty());
    }

    void receive(std::span<std::uint8_t> out) override {
        do {
            // mq_receive wants room for a whole mq_msgsize message.
            const bool direct = out.size() >= piece_;
            auto* into = reinterpret_cast<char*>(direct ? out.data() : scratch_.data());
            auto got = COURIER_SYSCALL(::mq_receive, in_.get(), into, piece_, nullptr);
            if (!got.ok()) throw system_error_from(got, "raw mq_receive");
            const auto size = static_cast<std::size_t>(got.value);
            if (size > out.size()) throw std::runtime_error("raw mq_receive: an oversized piece");
            if (!direct) std::copy_n(scratch_.begin(), size, out.begin());
            out = out.subspan(size);
        } while (!out.empty());
    }

  private:
    static Fd open(const std::string& name, int flags) {
        if (name.empty()) return Fd();
        return Fd(static_cast<int>(COURIER_SYSCALL(::mq_open, name.c_str(), flags | O_CLOEXEC)
                                       .value_or_throw("raw mq_open " + name)));
    }
    Fd in_, out_;
    std::size_t piece_ = 0;
    std::vector<std::uint8_t> scratch_;
};

}  // namespace

RawMechanism raw_posixmq() {
    return {
        "posixmq",
        [] {
            const auto shape = queue_shape();
            return "mq_send/mq_receive, mq_maxmsg " + std::to_string(shape.max_messages) +
                   ", mq_msgsize " + std::to_string(shape.message_size) +
                   " (larger payloads in pieces of that size)";
        },
        [](bool duplex) -> std::unique_ptr<Wiring> { return std::make_unique<MqWiring>(duplex); },
        [](Side side, const std::string& spec) -> std::unique_ptr<Channel> {
            auto [ab, ba] = split_spec(spec);
            return side == Side::a ? std::make_unique<MqChannel>(ba, ab)
                                   : std::make_unique<MqChannel>(ab, ba);
        },
    };
}

}  // namespace courier::bench
