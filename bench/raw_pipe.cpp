// pipe(2): the orchestrator makes one pipe per direction; the peers inherit the ends.
#include "raw_fd_stream.hpp"

#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <unistd.h>

namespace courier::bench {

namespace {

std::pair<Fd, Fd> make_pipe() {
    int ends[2];
    COURIER_SYSCALL(::pipe2, ends, O_CLOEXEC).value_or_throw("raw pipe");
    size_like_courier(ends[1]);
    return {Fd(ends[0]), Fd(ends[1])};
}

}  // namespace

RawMechanism raw_pipe() {
    return {
        "pipe",
        [] {
            return "pipe(2) of " + std::to_string(courier_pipe_buffer() / 1024) +
                   " KiB (courier's pipe_buffer); " + stream_framing();
        },
        [](bool duplex) -> std::unique_ptr<Wiring> {
            auto [ab_read, ab_write] = make_pipe();
            FdWiring::Ends a{-1, ab_write.get()}, b{ab_read.get(), -1};
            std::vector<Fd> owned;
            owned.push_back(std::move(ab_read));
            owned.push_back(std::move(ab_write));
            if (duplex) {
                auto [ba_read, ba_write] = make_pipe();
                a.in = ba_read.get();
                b.out = ba_write.get();
                owned.push_back(std::move(ba_read));
                owned.push_back(std::move(ba_write));
            }
            return std::make_unique<FdWiring>(a, b, std::move(owned));
        },
        [](Side, const std::string& spec) { return open_fd_spec(spec); },
    };
}

}  // namespace courier::bench
