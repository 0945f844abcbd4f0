#include "transport_fixtures.hpp"

#include "tcp/tcp_handshake.hpp"

#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <iterator>

#include <sstream>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <stdexcept>
#include <system_error>

namespace courier::test {

const std::vector<TransportFixture>& transport_fixtures() {
    static const std::vector<TransportFixture> fixtures{
        {"unix path", unix_path_endpoint, unix_raw_connect},
        {"unix abstract", [](const TempDir&) { return unix_abstract_endpoint(); },
         unix_raw_connect},
        {"tcp loopback", [](const TempDir&) { return tcp_loopback_endpoint(); }, tcp_raw_connect},
        {"fifo", fifo_endpoint, {}},
        {"posixmq", [](const TempDir&) { return posixmq_endpoint(); }, {}},
        {"sysv", [](const TempDir&) { return sysv_endpoint(); }, {}},
        {"shm", [](const TempDir&) { return shm_endpoint(); }, {}},
        {"pipe", [](const TempDir&) { return pipe_endpoint(); }, {}, /*listens=*/false},
    };
    return fixtures;
}

// --- names and directories ---------------------------------------------------------

std::string unique_name(std::string_view stem) {
    static std::atomic<unsigned> counter{0};
    return std::string(stem) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

TempDir::TempDir() {
    std::string name = std::filesystem::temp_directory_path() / "courier-transports-XXXXXX";
    if (::mkdtemp(name.data()) == nullptr) {  // mode 0700
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + name);
    }
    path_ = name;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

Endpoint unix_path_endpoint(const TempDir& dir) {
    return Endpoint{"unix", dir.path() / (unique_name("ep") + ".sock")};
}

Endpoint unix_abstract_endpoint() {
    std::string name = "@";  // not "@" + string: GCC 12 misreports -Wrestrict on that
    name += unique_name("courier-test");
    return Endpoint{"unix", name};
}

Fd unix_raw_connect(const Endpoint& endpoint) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string name = endpoint.address;
    socklen_t length = 0;
    if (name.starts_with('@')) {
        name[0] = '\0';  // abstract: a leading NUL, no trailing one
        length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    } else {
        length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + 1);
    }
    REQUIRE(name.size() < sizeof(address.sun_path));
    std::memcpy(address.sun_path, name.data(), name.size());
    Fd fd(static_cast<int>(
        COURIER_SYSCALL(::socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0).value_or_throw()));
    COURIER_SYSCALL(::connect, fd.get(), reinterpret_cast<const sockaddr*>(&address), length)
        .value_or_throw("raw connect " + endpoint.to_string());
    return fd;
}

Endpoint fifo_endpoint(const TempDir& dir) {
    return Endpoint{"fifo", dir.path() / unique_name("fifo")};
}

Endpoint posixmq_endpoint() {
    std::string name = "/";  // not "/" + string: GCC 12 misreports -Wrestrict on that
    name += unique_name("courier-test");
    return Endpoint{"posixmq", name};
}

Endpoint tcp_loopback_endpoint() {
    return Endpoint{"tcp", "127.0.0.1:0"};
}

Fd tcp_raw_connect(const Endpoint& endpoint) {
    // The listener reports "127.0.0.1:<port>"; the tests never use another address.
    const std::string& text = endpoint.address;
    const auto colon = text.rfind(':');
    REQUIRE(colon != std::string::npos);
    REQUIRE(text.substr(0, colon) == "127.0.0.1");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(std::stoul(text.substr(colon + 1))));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    Fd fd(static_cast<int>(
        COURIER_SYSCALL(::socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0).value_or_throw()));
    COURIER_SYSCALL(::connect, fd.get(), reinterpret_cast<const sockaddr*>(&address),
                    socklen_t{sizeof(address)})
        .value_or_throw("raw connect " + endpoint.to_string());
    // The handshake a courier connector makes: what follows is as raw as on unix:.
    detail::authenticate_to_listener(fd.get(), detail::load_cookie(detail::cookie_location()),
                                     Clock::now() + deadline,
                                     "raw connect " + endpoint.to_string());
    return fd;
}

Endpoint pipe_endpoint() {
    return Endpoint{"pipe", "child"};
}

Endpoint sysv_endpoint() {
    return Endpoint{"sysv", unique_name("courier-test")};
}

Endpoint shm_endpoint() {
    return Endpoint{"shm", unique_name("/courier-test")};
}

// --- waiting with deadlines ----------------------------------------------------------

namespace {

int remaining_ms(Clock::time_point until) {
    const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

}  // namespace

bool wait_until(const std::function<bool()>& condition, milliseconds timeout,
                std::chrono::microseconds every) {
    const auto until = Clock::now() + timeout;
    for (;;) {
        if (condition()) return true;
        if (Clock::now() >= until) return false;
        std::this_thread::sleep_for(every);
    }
}

bool thread_asleep(pid_t tid) {
    if (tid == 0) return false;
    std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string line;
    std::getline(stat, line);
    // "tid (comm) S ...": the name may hold spaces and parentheses, the state follows the last ')'.
    const auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'S';
}

bool send_fails_within(Link& link, milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    const auto frame = pattern(1000, 0);
    while (Clock::now() < until) {
        try {
            link.send(frame);
        } catch (const LinkError&) {
            return true;
        }
    }
    return false;
}

bool wait_readable(int fd, milliseconds timeout) {
    pollfd entry{fd, POLLIN, 0};
    const auto result =
        COURIER_SYSCALL(::poll, &entry, nfds_t{1}, static_cast<int>(timeout.count()));
    result.value_or_throw("poll");
    return result.value > 0;
}

std::unique_ptr<Link> accept_one(Listener& listener, milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    for (;;) {
        if (auto link = listener.accept()) return link;
        if (!wait_readable(listener.poll_fd(), milliseconds(remaining_ms(until)))) {
            FAIL("no link was accepted within " << timeout.count() << " ms");
        }
    }
}

namespace {

/// Stands in for the listener a transport that links children does not have.
class ChildEndpointListener final : public Listener {
  public:
    explicit ChildEndpointListener(Endpoint endpoint) : endpoint_(std::move(endpoint)) {}
    const Endpoint& endpoint() const noexcept override { return endpoint_; }
    int poll_fd() const noexcept override { return -1; }
    std::unique_ptr<Link> accept() override { return nullptr; }

  private:
    Endpoint endpoint_;
};

}  // namespace

RawAccepted raw_accepted(const TransportFixture& fixture, Listener& listener) {
    auto raw =
        std::async(std::launch::async, [&] { return fixture.raw_connect(listener.endpoint()); });
    RawAccepted accepted;
    accepted.server = accept_one(listener);
    REQUIRE(raw.wait_for(deadline) == std::future_status::ready);
    accepted.raw = raw.get();
    return accepted;
}

Connected connect_pair(const Endpoint& endpoint, const TransportOptions& options) {
    Connected pair;
    const auto* entry = TransportRegistry::builtin().find(endpoint.scheme);
    if (entry != nullptr && entry->child_link) {
        // Both ends in this process: the "child" adopts its ends where they are.
        ChildLink made = TransportRegistry::builtin().child_link(endpoint.scheme, options);
        pair.server = std::move(made.link);
        pair.client = TransportRegistry::builtin().connect(made.child_endpoint, options);
        for (auto& fd : made.child_fds) (void)fd.release();  // the client owns them now
        pair.listener = std::make_unique<ChildEndpointListener>(made.child_endpoint);
        return pair;
    }
    pair.listener = TransportRegistry::builtin().listen(endpoint, options);
    // connect() may wait for the accept on some transports: run it beside us.
    auto client = std::async(std::launch::async, [&] {
        return TransportRegistry::builtin().connect(pair.listener->endpoint(), options);
    });
    pair.server = accept_one(*pair.listener);
    REQUIRE(client.wait_for(deadline) == std::future_status::ready);
    pair.client = client.get();
    REQUIRE(pair.client != nullptr);
    return pair;
}

Received receive_frames(Link& link, std::size_t count, milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    Received received;
    for (;;) {
        received.status = link.receive(received.frames);
        if (received.frames.size() >= count) return received;
        if (received.status.state != ReceiveStatus::State::open) return received;
        if (!wait_readable(link.poll_fd(), milliseconds(remaining_ms(until)))) return received;
    }
}

Received receive_until_end(Link& link, milliseconds timeout) {
    return receive_frames(link, static_cast<std::size_t>(-1), timeout);
}

// --- bytes ---------------------------------------------------------------------------

std::vector<std::byte> pattern(std::size_t size, std::uint32_t seed) {
    std::vector<std::byte> bytes(size);
    std::uint32_t state = seed * 2654435761U + 1U;
    for (auto& b : bytes) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        b = static_cast<std::byte>(state >> 24);
    }
    return bytes;
}

void write_raw(int fd, std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
        const auto written = COURIER_SYSCALL(::write, fd, bytes.data(), bytes.size());
        written.value_or_throw("raw write");
        bytes = bytes.subspan(static_cast<std::size_t>(written.value));
    }
}

std::vector<std::byte> length_prefix(std::uint32_t length) {
    return {std::byte(length & 0xffU), std::byte((length >> 8) & 0xffU),
            std::byte((length >> 16) & 0xffU), std::byte((length >> 24) & 0xffU)};
}

// --- child processes -----------------------------------------------------------------

namespace {

std::vector<Owner>& children() {
    static std::vector<Owner> owners;
    return owners;
}

/// The child's start time, read while it is not yet reaped (a zombie still tells it).
Owner child_owner(pid_t pid) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
    const std::string stat((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 1));
    std::string field;
    for (int i = 3; i < 22 && fields >> field; ++i) {
    }
    Owner owner{pid, 0};
    fields >> owner.start;
    return owner;
}

}  // namespace

const std::vector<Owner>& forked_children() {
    return children();
}

Child::Child(const std::function<int()>& body) {
    pid_ = ::fork();
    if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid_ > 0) children().push_back(child_owner(pid_));
    if (pid_ == 0) {
        int code = 100;
        try {
            code = body();
        } catch (...) {
        }
        ::_exit(code);  // never run the parent's destructors or Catch2's reporting
    }
}

int Child::wait(milliseconds timeout) {
    if (pid_ < 0) return -1;
    // A pidfd becomes readable when the child exits: a wait with a deadline, no sleeping.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd >= 0) {
        Fd owner(pidfd);
        if (!wait_readable(pidfd, timeout)) ::kill(pid_, SIGKILL);
    } else {
        // Kernels before 5.3: check for the exit every 5 ms until the deadline.
        const auto until = Clock::now() + timeout;
        for (;;) {
            siginfo_t info{};
            ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
            if (info.si_pid != 0) break;
            if (Clock::now() >= until) {
                ::kill(pid_, SIGKILL);
                break;
            }
            ::poll(nullptr, 0, 5);
        }
    }
    int status = 0;
    const bool exited = ::waitpid(pid_, &status, 0) == pid_;
    pid_ = -1;
    if (!exited || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

Child::~Child() {
    if (pid_ < 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
}

ReadySignal::ReadySignal() {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe2");
    read_end.reset(ends[0]);
    write_end.reset(ends[1]);
}

void ReadySignal::signal(std::string_view message) const {
    (void)!::write(write_end.get(), message.data(), message.size());
}

std::string ReadySignal::message() const {
    if (!wait()) return {};
    std::array<char, PIPE_BUF> buffer{};
    const auto got = COURIER_SYSCALL(::read, read_end.get(), buffer.data(), buffer.size());
    return got.ok() ? std::string(buffer.data(), static_cast<std::size_t>(got.value))
                    : std::string();
}

int connect_and_stay(const Endpoint& endpoint) {
    auto link = TransportRegistry::builtin().connect(endpoint);
    link->send(pattern(10, 7));
    for (;;) ::pause();
}

}  // namespace courier::test
