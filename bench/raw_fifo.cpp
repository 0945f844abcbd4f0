// Named pipes: the orchestrator makes one FIFO per direction in a private directory; the
// peers open them by path, the way programs that share a FIFO do, and the names go once
// both are open.
#include "raw_fd_stream.hpp"

#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

namespace courier::bench {

namespace {

class FifoWiring final : public Wiring {
  public:
    explicit FifoWiring(bool duplex) {
        std::string pattern = (std::filesystem::temp_directory_path() / "courier-bench.XXXXXX");
        if (::mkdtemp(pattern.data()) == nullptr)
            throw std::system_error(errno, std::generic_category(), "raw fifo mkdtemp");
        dir_ = pattern;
        ab_ = dir_ / "ab";
        COURIER_SYSCALL(::mkfifo, ab_.c_str(), mode_t{0600}).value_or_throw("raw mkfifo");
        if (duplex) {
            ba_ = dir_ / "ba";
            COURIER_SYSCALL(::mkfifo, ba_.c_str(), mode_t{0600}).value_or_throw("raw mkfifo");
        }
    }
    ~FifoWiring() override { opened(); }
    std::string spec(Side) const override { return ab_.string() + "," + ba_.string(); }
    void opened() override {
        std::error_code ignored;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
        dir_.clear();
    }

  private:
    std::filesystem::path dir_, ab_, ba_;
};

int open_fifo(const std::string& path, int flags) {
    if (path.empty()) return -1;
    return static_cast<int>(COURIER_SYSCALL(::open, path.c_str(), flags | O_CLOEXEC)
                                .value_or_throw("raw fifo " + path));
}

}  // namespace

RawMechanism raw_fifo() {
    return {
        "fifo",
        [] {
            return "mkfifo(3), opened by path, " + std::to_string(courier_pipe_buffer() / 1024) +
                   " KiB (courier's pipe_buffer); " + stream_framing();
        },
        [](bool duplex) -> std::unique_ptr<Wiring> { return std::make_unique<FifoWiring>(duplex); },
        [](Side side, const std::string& spec) -> std::unique_ptr<Channel> {
            auto [ab, ba] = split_spec(spec);
            // Both open `ab` first: each open waits for the other end, so the order matters.
            // The writer of each FIFO sizes it, as a fifo: link's does.
            if (side == Side::a) {
                Fd out(open_fifo(ab, O_WRONLY));
                size_like_courier(out.get());
                int in = open_fifo(ba, O_RDONLY);
                return std::make_unique<FdStreamChannel>(in, out.release());
            }
            Fd in(open_fifo(ab, O_RDONLY));
            int out = open_fifo(ba, O_WRONLY);
            if (out >= 0) size_like_courier(out);
            return std::make_unique<FdStreamChannel>(in.release(), out);
        },
    };
}

}  // namespace courier::bench
