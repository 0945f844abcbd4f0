#include "registry/registry_dialer.hpp"

#include "registry/awaited_answer.hpp"
#include "registry/spawn.hpp"

#include <courier/framework/runtime_dir.hpp>
#include <courier/posix_call.hpp>
#include <courier/transports/endpoint.hpp>
#include <courier/transports/transport.hpp>

#include <poll.h>

#include <algorithm>
#include <system_error>
#include <thread>

namespace courier {

namespace {

using std::chrono::milliseconds;

long long ms_left(std::chrono::steady_clock::time_point deadline) {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now())
            .count();
    return std::max<long long>(left, 0);
}

}  // namespace

RegistryDialer::RegistryDialer(RegistryOptions options, std::string sender)
    : options_(std::move(options)),
      dir_(options_.runtime_dir.empty() ? default_runtime_dir() : options_.runtime_dir),
      socket_(registry_socket_path(dir_)),
      sender_(std::move(sender)) {}

/// A link to the registry socket, or nullptr when nothing listens there.
std::unique_ptr<Link> RegistryDialer::try_connect() const {
    try {
        return TransportRegistry::builtin().connect(local_socket_endpoint(socket_.string()));
    } catch (const std::system_error& e) {
        if (e.code() == std::errc::no_such_file_or_directory ||
            e.code() == std::errc::connection_refused)
            return nullptr;
        throw RegistryError("cannot connect to the courier registry at " + socket_.string() + ": " +
                            e.what());
    }
}

/// Asks a fresh link for the node list and waits for the answer: false when the
/// registry closes it first (a courierd that was exiting on idle as we connected).
bool RegistryDialer::probe(Link& candidate, Clock::time_point deadline) const {
    constexpr std::uint64_t correlation = 1;  // the one request on this link
    try {
        candidate.send(request_frame(correlation, registry::ListNodes{}));
    } catch (const LinkError&) {
        return false;
    }
    const auto answer = registry::await_answer(candidate, correlation, deadline);
    if (answer.state == registry::AwaitedAnswer::State::timed_out)
        throw RegistryError("the courier registry at " + socket_.string() +
                            " did not answer within " + std::to_string(options_.timeout.count()) +
                            " ms");
    return answer.state == registry::AwaitedAnswer::State::answered;
}

/// Starts courierd and connects to it, retrying until the deadline.
std::unique_ptr<Link> RegistryDialer::start_and_connect(Clock::time_point deadline) const {
    try {
        ensure_runtime_dir(dir_);
    } catch (const std::system_error& e) {
        throw RegistryError(e.what());
    }
    std::filesystem::path courierd = registry::find_courierd(options_.courierd);
    registry::start_courierd(courierd, dir_, options_.idle_exit);
    auto started = Clock::now();
    auto pause = milliseconds{2};
    // Bounded retry: courierd binds within milliseconds of starting. If the courierd
    // we raced with held the lock while exiting on idle, ours gave way to it, so start
    // another now and then.
    for (;;) {
        if (auto connected = try_connect()) return connected;
        if (Clock::now() >= deadline)
            throw RegistryError("started " + courierd.string() + " but no registry answered at " +
                                socket_.string() + " within " +
                                std::to_string(options_.timeout.count()) + " ms");
        if (Clock::now() - started > milliseconds{500}) {
            registry::start_courierd(courierd, dir_, options_.idle_exit);
            started = Clock::now();
        }
        std::this_thread::sleep_for(std::min<milliseconds>(pause, milliseconds{ms_left(deadline)}));
        pause = std::min(pause * 2, milliseconds{50});
    }
}

/// A link to a courierd that answers, started if need be. Throws RegistryError.
std::unique_ptr<Link> RegistryDialer::establish() const {
    auto deadline = Clock::now() + options_.timeout;
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto candidate = try_connect();
        if (!candidate) {
            if (!options_.autostart)
                throw RegistryNotRunning("no courier registry is running in " + dir_.string());
            candidate = start_and_connect(deadline);
        }
        if (probe(*candidate, deadline)) return candidate;
    }
    throw RegistryError("the courier registry in " + dir_.string() +
                        " closed the connection before answering, twice");
}

}  // namespace courier
