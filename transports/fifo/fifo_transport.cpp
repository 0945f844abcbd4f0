#include "fifo/fifo_transport.hpp"

#include "fifo/fifo_link.hpp"
#include "src/created_name.hpp"
#include "src/rendezvous.hpp"

#include <courier/posix_call.hpp>
#include <courier/transports/orphans.hpp>
#include <courier/transports/owner.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace courier {

namespace {

namespace fs = std::filesystem;

/// The setup frame's bytes; its two descriptors are the connector's write and read ends.
constexpr std::string_view setup_tag = "courier-fifo/1";
/// Room a FIFO's suffix takes in a file name: ".<pid>@<start>.<counter>.down".
constexpr std::size_t suffix_room = 1 + 10 + 1 + 20 + 1 + 10 + 5;

/// `fifo:<path>` with the path made absolute and checked. Throws std::invalid_argument.
Endpoint resolve(const Endpoint& endpoint) {
    const fs::path path = fs::absolute(fs::path(endpoint.address)).lexically_normal();
    if (!path.has_filename()) {
        throw std::invalid_argument("fifo endpoint \"" + endpoint.to_string() +
                                    "\" names a directory; it needs a file name the FIFOs of "
                                    "each link are named after");
    }
    if (path.filename().string().size() + suffix_room > NAME_MAX) {
        throw std::invalid_argument("fifo endpoint \"" + endpoint.to_string() +
                                    "\": its file name is too long for the FIFOs' suffixes (at "
                                    "most " +
                                    std::to_string(NAME_MAX - suffix_room) + " bytes)");
    }
    Endpoint resolved{endpoint.scheme, path.string()};
    if (!detail::rendezvous_fits(resolved)) {
        throw std::invalid_argument("fifo endpoint \"" + resolved.to_string() +
                                    "\": the path is too long for its rendezvous socket name "
                                    "(at most 83 bytes)");
    }
    return resolved;
}

std::string file_name(const fs::path& path) {
    return path.filename().string();
}

/// Removes FIFOs "<name>.<pid>@<start>.<n>.up/.down" next to `path` whose owner is dead:
/// the only leftovers a crash can leave (a listener killed between mkfifo and unlink).
void clear_stale_fifos(const fs::path& path) {
    OrphanSearch search;
    search.fifo_dirs = {path.parent_path()};
    search.base = file_name(path);
    search.only = Orphan::Kind::fifo;
    (void)remove_orphans(search);
}

Fd open_end(const std::string& path, int mode) {
    // Non-blocking: a reader's open returns at once, and a writer's finds the reader we
    // opened first. O_NOFOLLOW: the name is ours; a symlink there is not.
    return Fd(static_cast<int>(
        COURIER_SYSCALL(::open, path.c_str(), mode | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)
            .value_or_throw("open FIFO " + path)));
}

void require_fifo(int fd, const std::string& what) {
    struct stat status {};
    COURIER_SYSCALL(::fstat, fd, &status).value_or_throw(what);
    if (!S_ISFIFO(status.st_mode)) throw LinkError(what + ": not a FIFO");
}

/// Listener side: makes the two FIFOs of one link, opens all four ends, removes the
/// files, hands the connector its two ends and keeps the other two.
std::unique_ptr<Link> make_listener_link(const Endpoint& endpoint, const TransportOptions& options,
                                         detail::ControlChannel control) {
    static std::atomic<unsigned> counter{0};
    // "up" carries the connector's frames to us, "down" ours to it. Their files go when
    // the guards do, whatever happens; their open ends live on.
    detail::CreatedName up, down;
    for (int attempt = 0;; ++attempt) {
        // The name records its owner: a leftover tells whose it was (orphans.hpp).
        const std::string base = owned_name(endpoint.address, Owner::self(), ++counter);
        const auto made = COURIER_SYSCALL(::mkfifo, (base + ".up").c_str(), mode_t{0600});
        if (!made.ok() && made.error == EEXIST && attempt < 100) continue;  // a dead one's
        made.value_or_throw("mkfifo " + base + ".up");
        up = detail::CreatedName(detail::NameKind::file, base + ".up");
        COURIER_SYSCALL(::mkfifo, (base + ".down").c_str(), mode_t{0600})
            .value_or_throw("mkfifo " + base + ".down");
        down = detail::CreatedName(detail::NameKind::file, base + ".down");
        break;
    }
    Fd server_in = open_end(up.name(), O_RDONLY);
    Fd client_out = open_end(up.name(), O_WRONLY);
    Fd client_in = open_end(down.name(), O_RDONLY);
    Fd server_out = open_end(down.name(), O_WRONLY);
    // Every end is open: the names can go now, so nothing is left whatever happens next.
    up.remove();
    down.remove();

    const std::array<int, 2> fds{client_out.get(), client_in.get()};
    control.send_setup(std::as_bytes(std::span(setup_tag)), fds);
    std::string peer = detail::describe_rendezvous_peer(endpoint, control);
    return std::make_unique<detail::FifoLink>(std::move(server_in), std::move(server_out),
                                              std::move(control), options, std::move(peer));
}

}  // namespace

std::unique_ptr<Listener> FifoTransport::listen(const Endpoint& endpoint,
                                                const TransportOptions& options) {
    Endpoint resolved = resolve(endpoint);
    const fs::path path(resolved.address);
    struct stat status {};
    COURIER_SYSCALL(::stat, path.parent_path().c_str(), &status)
        .value_or_throw("listen " + resolved.to_string() + ": its directory");
    if (!S_ISDIR(status.st_mode)) {
        throw std::system_error(std::make_error_code(std::errc::not_a_directory),
                                "listen " + resolved.to_string() + ": " +
                                    path.parent_path().string() + " is not a directory");
    }
    clear_stale_fifos(path);
    return std::make_unique<detail::RendezvousListener>(
        resolved, options, [resolved, options](detail::ControlChannel control) {
            return make_listener_link(resolved, options, std::move(control));
        });
}

std::unique_ptr<Link> FifoTransport::connect(const Endpoint& endpoint,
                                             const TransportOptions& options) {
    const Endpoint resolved = resolve(endpoint);
    auto connection = detail::rendezvous_connect(resolved, options);
    auto& setup = connection.setup;
    const std::string context = "connect " + resolved.to_string();
    if (std::string_view(reinterpret_cast<const char*>(setup.bytes.data()), setup.bytes.size()) !=
            setup_tag ||
        setup.fds.size() != 2) {
        throw LinkError(context + ": the listener sent a setup frame that is not fifo's");
    }
    require_fifo(setup.fds[0].get(), context + ": write end");
    require_fifo(setup.fds[1].get(), context + ": read end");
    std::string peer = detail::describe_rendezvous_peer(resolved, connection.control);
    return std::make_unique<detail::FifoLink>(std::move(setup.fds[1]), std::move(setup.fds[0]),
                                              std::move(connection.control), options,
                                              std::move(peer));
}

}  // namespace courier
