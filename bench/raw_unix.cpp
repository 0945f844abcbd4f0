// A Unix-domain stream socket: a connected pair, one end per peer.
#include "raw_fd_stream.hpp"

#include <courier/posix_call.hpp>

#include <sys/socket.h>

namespace courier::bench {

RawMechanism raw_unix() {
    return {
        "unix",
        [] { return "AF_UNIX SOCK_STREAM socketpair, default buffers; " + stream_framing(); },
        [](bool) -> std::unique_ptr<Wiring> {
            int ends[2];
            COURIER_SYSCALL(::socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends)
                .value_or_throw("raw unix socketpair");
            std::vector<Fd> owned;
            owned.emplace_back(ends[0]);
            owned.emplace_back(ends[1]);
            return std::make_unique<FdWiring>(FdWiring::Ends{ends[0], ends[0]},
                                              FdWiring::Ends{ends[1], ends[1]}, std::move(owned));
        },
        [](Side, const std::string& spec) { return open_fd_spec(spec); },
    };
}

}  // namespace courier::bench
