#include "posixmq/posixmq_transport.hpp"

#include "posixmq/posixmq_link.hpp"
#include "src/created_name.hpp"
#include "src/rendezvous.hpp"

#include <courier/posix_call.hpp>
#include <courier/transports/orphans.hpp>
#include <courier/transports/owner.hpp>

#include <fcntl.h>
#include <mqueue.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace courier {

namespace {

/// The setup frame's bytes; its two descriptors are the connector's sending and
/// receiving queues.
constexpr std::string_view setup_tag = "courier-posixmq/1";
/// Room a queue's suffix takes in its name: ".<pid>@<start>.<counter>.down".
constexpr std::size_t suffix_room = 1 + 10 + 1 + 20 + 1 + 10 + 5;
/// Largest message courier asks for even where the system allows more: beyond this, the
/// syscalls saved do not pay for the memory a queue pins.
constexpr long preferred_msgsize = 64L << 10;
constexpr long preferred_maxmsg = 10;
/// Queues' memory is shared by all of a user's links: leave room for this many at once.
constexpr long links_in_budget = 4;
/// The kernel's bookkeeping per message, beyond its bytes (struct msg_msg and tree).
constexpr long per_message_overhead = 64;

long read_proc(const char* path, long fallback) {
    std::ifstream file(path);
    long value = 0;
    return (file >> value) && value > 0 ? value : fallback;
}

/// `posixmq:/name` checked. Throws std::invalid_argument.
void validate(const Endpoint& endpoint) {
    const std::string& name = endpoint.address;
    const auto bad = [&](const std::string& why) {
        return std::invalid_argument("posixmq endpoint \"" + endpoint.to_string() + "\": " + why);
    };
    if (name.size() < 2 || name[0] != '/') throw bad("the name must be \"/\" and a name");
    if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
                               1) != std::string::npos) {
        throw bad("after the leading \"/\", only letters, digits, '.', '_' and '-' are allowed");
    }
    if (name.size() + suffix_room > NAME_MAX) {
        throw bad("the name is too long (at most " + std::to_string(NAME_MAX - suffix_room) +
                  " bytes)");
    }
    if (!detail::rendezvous_fits(endpoint)) {
        throw bad("the name is too long for its rendezvous socket name (at most 80 bytes)");
    }
}

/// Why mq_open failed, with the limits in force and the knobs that raise them.
std::system_error open_error(const SysResult& result, const std::string& name,
                             const mq_attr* attr) {
    const auto& limits = PosixMqLimits::system();
    std::string context = "open message queue " + name;
    if (attr != nullptr) {
        context += " with mq_msgsize " + std::to_string(attr->mq_msgsize) + ", mq_maxmsg " +
                   std::to_string(attr->mq_maxmsg);
    }
    context += " (courier's pick: " + limits.describe() + ")";
    switch (result.error) {
        case EINVAL:
            context +=
                ": the queue size is above the system's limits; raise "
                "/proc/sys/fs/mqueue/msgsize_max and msg_max (sysctl fs.mqueue.*)";
            break;
        case EMFILE:
            context +=
                ": the user's queues would hold more than RLIMIT_MSGQUEUE bytes (ulimit -q; "
                "LimitMSGQUEUE= in systemd, msgqueue in limits.conf), or the process is out "
                "of descriptors (ulimit -n)";
            break;
        case ENOSPC:
            context +=
                ": the system already has fs.mqueue.queues_max queues "
                "(/proc/sys/fs/mqueue/queues_max)";
            break;
        default:
            break;
    }
    return system_error_from(result, context);
}

Fd open_queue(const std::string& name, int flags, mq_attr* attr) {
    const auto result =
        attr != nullptr
            ? COURIER_SYSCALL(::mq_open, name.c_str(), flags | O_NONBLOCK, mode_t{0600}, attr)
            : COURIER_SYSCALL(::mq_open, name.c_str(), flags | O_NONBLOCK);
    if (!result.ok()) throw open_error(result, name, attr);
    return Fd(static_cast<int>(result.value));
}

/// Listener side: makes the two queues of one link, opens both ends of each, removes
/// the names, hands the connector its two descriptors and keeps the other two.
std::unique_ptr<Link> make_listener_link(const Endpoint& endpoint, const TransportOptions& options,
                                         detail::ControlChannel control) {
    static std::atomic<unsigned> counter{0};
    const auto& limits = PosixMqLimits::system();
    mq_attr attr{};
    const std::int64_t maxmsg = options.integer(PosixMqTransport::max_messages);
    const std::size_t msgsize = options.size(PosixMqTransport::message_size);
    attr.mq_maxmsg =
        maxmsg > 0 ? static_cast<long>(std::min<std::int64_t>(maxmsg, LONG_MAX)) : limits.maxmsg;
    attr.mq_msgsize = limits.msgsize;
    if (msgsize > 0) {
        attr.mq_msgsize =
            std::min(limits.msgsize, static_cast<long>(std::min<std::size_t>(msgsize, LONG_MAX)));
    }

    // "up" carries the connector's frames to us, "down" ours to it. Their names go when
    // the guards do, whatever happens; their open descriptors live on.
    detail::CreatedName up, down;
    Fd server_in;
    for (int attempt = 0;; ++attempt) {
        // The name records its owner: a leftover tells whose it was (orphans.hpp).
        const std::string base = owned_name(endpoint.address, Owner::self(), ++counter);
        const auto result =
            COURIER_SYSCALL(::mq_open, (base + ".up").c_str(),
                            O_RDONLY | O_CREAT | O_EXCL | O_NONBLOCK, mode_t{0600}, &attr);
        if (!result.ok() && result.error == EEXIST && attempt < 100) continue;  // a dead one's
        if (!result.ok()) throw open_error(result, base + ".up", &attr);
        server_in = Fd(static_cast<int>(result.value));
        up = detail::CreatedName(detail::NameKind::message_queue, base + ".up");
        // Guarded before it exists: the name carries our owner tag, so nobody else makes
        // it, and if creating it fails nothing is removed that was not ours.
        down = detail::CreatedName(detail::NameKind::message_queue, base + ".down");
        break;
    }
    Fd server_out = open_queue(down.name(), O_WRONLY | O_CREAT | O_EXCL, &attr);
    Fd client_out = open_queue(up.name(), O_WRONLY, nullptr);
    Fd client_in = open_queue(down.name(), O_RDONLY, nullptr);
    // Every descriptor is open: the names can go now, so nothing is left whatever happens.
    up.remove();
    down.remove();

    const std::array<int, 2> fds{client_out.get(), client_in.get()};
    control.send_setup(std::as_bytes(std::span(setup_tag)), fds);
    std::string peer = detail::describe_posixmq_peer(endpoint, control);
    return std::make_unique<detail::PosixMqLink>(std::move(server_in), std::move(server_out),
                                                 std::move(control), options, std::move(peer));
}

}  // namespace

const PosixMqLimits& PosixMqLimits::system() {
    static const PosixMqLimits limits = [] {
        PosixMqLimits l;
        l.msgsize_max = read_proc("/proc/sys/fs/mqueue/msgsize_max", l.msgsize_max);
        l.msg_max = read_proc("/proc/sys/fs/mqueue/msg_max", l.msg_max);
        l.queues_max = read_proc("/proc/sys/fs/mqueue/queues_max", l.queues_max);
        rlimit limit{};
        if (::getrlimit(RLIMIT_MSGQUEUE, &limit) == 0) {
            l.bytes_max =
                limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<long long>(limit.rlim_cur);
        }
        l.maxmsg = std::min(l.msg_max, preferred_maxmsg);
        l.msgsize = std::min(l.msgsize_max, preferred_msgsize);
        if (l.bytes_max > 0) {
            // Two queues per link, and room for several links of this user at once.
            const long long per_queue = l.bytes_max / (2 * links_in_budget);
            const long long fits = per_queue / l.maxmsg - per_message_overhead;
            l.msgsize = static_cast<long>(std::clamp<long long>(fits, 128, l.msgsize));
        }
        return l;
    }();
    return limits;
}

std::string PosixMqLimits::describe() const {
    return "mq_msgsize " + std::to_string(msgsize) + ", mq_maxmsg " + std::to_string(maxmsg) +
           "; fs.mqueue.msgsize_max " + std::to_string(msgsize_max) + ", fs.mqueue.msg_max " +
           std::to_string(msg_max) + ", fs.mqueue.queues_max " + std::to_string(queues_max) +
           ", RLIMIT_MSGQUEUE " + (bytes_max < 0 ? "unlimited" : std::to_string(bytes_max));
}

Capabilities PosixMqTransport::capabilities() noexcept {
    return Capabilities{
        .native_frame_limit = static_cast<std::size_t>(PosixMqLimits::system().msgsize),
        .fd_passing = false,
        .priorities = true,
        .cross_host = false};
}

std::unique_ptr<Listener> PosixMqTransport::listen(const Endpoint& endpoint,
                                                   const TransportOptions& options) {
    validate(endpoint);
    auto listener = std::make_unique<detail::RendezvousListener>(
        endpoint, options, [endpoint, options](detail::ControlChannel control) {
            return make_listener_link(endpoint, options, std::move(control));
        });
    // Only now: a live listener on the same name made the line above throw. Queues can be
    // listed only where /dev/mqueue is mounted; elsewhere nothing is found.
    OrphanSearch search;
    search.base = endpoint.address.substr(1);
    search.only = Orphan::Kind::posix_queue;
    (void)remove_orphans(search);
    return listener;
}

std::unique_ptr<Link> PosixMqTransport::connect(const Endpoint& endpoint,
                                                const TransportOptions& options) {
    validate(endpoint);
    auto connection = detail::rendezvous_connect(endpoint, options);
    auto& setup = connection.setup;
    const std::string context = "connect " + endpoint.to_string();
    if (std::string_view(reinterpret_cast<const char*>(setup.bytes.data()), setup.bytes.size()) !=
            setup_tag ||
        setup.fds.size() != 2) {
        throw LinkError(context + ": the listener sent a setup frame that is not posixmq's");
    }
    std::string peer = detail::describe_posixmq_peer(endpoint, connection.control);
    return std::make_unique<detail::PosixMqLink>(std::move(setup.fds[1]), std::move(setup.fds[0]),
                                                 std::move(connection.control), options,
                                                 std::move(peer));
}

}  // namespace courier
