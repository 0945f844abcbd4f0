#include "pipe/pipe_transport.hpp"

#include "src/stream_framing.hpp"

#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <stdexcept>
#include <string>
#include <system_error>

namespace courier {

namespace {

/// The two descriptor numbers of `pipe:<read-fd>,<write-fd>`. Throws std::invalid_argument.
std::array<int, 2> parse_fds(const Endpoint& endpoint) {
    const std::string& address = endpoint.address;
    std::array<int, 2> fds{-1, -1};
    const char* p = address.data();
    const char* end = address.data() + address.size();
    for (std::size_t i = 0; i < fds.size(); ++i) {
        auto [next, error] = std::from_chars(p, end, fds[i]);
        const bool separator_ok = i == 0 ? (next != end && *next == ',') : next == end;
        if (error != std::errc() || next == p || fds[i] < 0 || !separator_ok) {
            throw std::invalid_argument("pipe endpoint \"" + endpoint.to_string() +
                                        "\": the address must be <read-fd>,<write-fd>, two "
                                        "descriptor numbers the process inherited");
        }
        p = next + 1;
    }
    if (fds[0] == fds[1]) {
        throw std::invalid_argument("pipe endpoint \"" + endpoint.to_string() +
                                    "\": the read and write ends must be two descriptors");
    }
    return fds;
}

/// Checks that `fd` is an open pipe end we can read (or write) without taking it.
void require_pipe_end(const Endpoint& endpoint, int fd, bool readable) {
    const std::string what =
        endpoint.to_string() + ": " + (readable ? "read" : "write") + " end " + std::to_string(fd);
    struct stat status {};
    const auto stated = COURIER_SYSCALL(::fstat, fd, &status);
    if (!stated.ok() && stated.error == EBADF) {
        throw std::system_error(EBADF, std::generic_category(),
                                what + " is not an open descriptor (was it inherited?)");
    }
    stated.value_or_throw(what);
    if (!S_ISFIFO(status.st_mode)) throw std::invalid_argument(what + " is not a pipe");
    const int mode =
        static_cast<int>(COURIER_SYSCALL(::fcntl, fd, F_GETFL).value_or_throw(what)) & O_ACCMODE;
    if (mode == (readable ? O_WRONLY : O_RDONLY)) {
        throw std::invalid_argument(what + " is open for " + (readable ? "writing" : "reading") +
                                    " only");
    }
}

/// Makes `fd` non-blocking (the reactor reads it; send() polls) and close-on-exec.
void adopt(int fd, const std::string& context) {
    const long flags = COURIER_SYSCALL(::fcntl, fd, F_GETFL).value_or_throw(context);
    COURIER_SYSCALL(::fcntl, fd, F_SETFL, static_cast<int>(flags) | O_NONBLOCK)
        .value_or_throw(context);
    COURIER_SYSCALL(::fcntl, fd, F_SETFD, FD_CLOEXEC).value_or_throw(context);
}

}  // namespace

std::unique_ptr<Listener> PipeTransport::listen(const Endpoint& endpoint, const TransportOptions&) {
    throw std::invalid_argument("cannot listen on \"" + endpoint.to_string() +
                                "\": pipe links are made by spawning a child process "
                                "(Node::spawn_process), not by connecting to a name");
}

std::unique_ptr<Link> PipeTransport::connect(const Endpoint& endpoint,
                                             const TransportOptions& options) {
    const auto [read_fd, write_fd] = parse_fds(endpoint);
    // Everything is checked before anything is taken: a refused endpoint leaves both
    // descriptors as they were.
    require_pipe_end(endpoint, read_fd, true);
    require_pipe_end(endpoint, write_fd, false);
    Fd read_end(read_fd);
    Fd write_end(write_fd);
    adopt(read_fd, endpoint.to_string());
    adopt(write_fd, endpoint.to_string());
    return std::make_unique<detail::StreamLink>(std::move(read_end), std::move(write_end),
                                                capabilities(), options,
                                                endpoint.to_string() + " (inherited)");
}

ChildLink PipeTransport::child_link(const TransportOptions& options, int child_fd_base) {
    // Close-on-exec everywhere: only the spawner's explicit placement gives the child its
    // two ends, and no other child spawned meanwhile inherits them.
    std::array<int, 2> down{-1, -1};  // our frames to the child
    COURIER_SYSCALL(::pipe2, down.data(), O_CLOEXEC).value_or_throw("pipe: pipe2");
    Fd child_in(down[0]), our_out(down[1]);
    std::array<int, 2> up{-1, -1};  // the child's frames to us
    COURIER_SYSCALL(::pipe2, up.data(), O_CLOEXEC).value_or_throw("pipe: pipe2");
    Fd our_in(up[0]), child_out(up[1]);
    // Only our ends are non-blocking: the flag belongs to the open pipe end, which the child
    // shares, and a child that is not a courier program expects blocking descriptors.
    adopt(our_in.get(), "pipe: our read end");
    adopt(our_out.get(), "pipe: our write end");

    const int read_number = child_fd_base < 0 ? child_in.get() : child_fd_base;
    const int write_number = child_fd_base < 0 ? child_out.get() : child_fd_base + 1;
    Endpoint child_endpoint{std::string(scheme),
                            std::to_string(read_number) + "," + std::to_string(write_number)};
    ChildLink made;
    made.link = std::make_unique<detail::StreamLink>(
        std::move(our_in), std::move(our_out), capabilities(), options,
        "pipe to a spawned child (its " + child_endpoint.to_string() + ")");
    made.child_fds.push_back(std::move(child_in));
    made.child_fds.push_back(std::move(child_out));
    made.child_endpoint = std::move(child_endpoint);
    return made;
}

}  // namespace courier
