#include "server.hpp"

#include <courier/posix_call.hpp>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>

namespace httpd {

namespace {

/// epoll's data for the wake-up eventfd; connections are numbered from 1 by the master.
constexpr std::uint64_t wake_id = 0;
constexpr std::chrono::seconds sweep_every{1};

courier::Fd checked(courier::SysResult result, const char* what) {
    return courier::Fd(static_cast<int>(result.value_or_throw(what)));
}

}  // namespace

Server::Server(Site site, ServerHooks hooks)
    : site_(site),
      hooks_(std::move(hooks)),
      epoll_(checked(COURIER_SYSCALL(::epoll_create1, EPOLL_CLOEXEC), "the worker's epoll")),
      wake_(checked(COURIER_SYSCALL(::eventfd, 0U, EFD_CLOEXEC | EFD_NONBLOCK),
                    "the worker's eventfd")) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = wake_id;
    COURIER_SYSCALL(::epoll_ctl, epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &event)
        .value_or_throw("watch the worker's eventfd");
    thread_ = std::thread([this] { run(); });
}

Server::~Server() {
    stop();
}

void Server::adopt(std::uint64_t id, courier::Fd socket) {
    if (stopping_) return;  // closes it
    {
        std::lock_guard lock(mutex_);
        arrivals_.push_back({id, std::move(socket)});
    }
    wake();
}

void Server::stats_ready(std::uint64_t id, int status, std::string page) {
    {
        std::lock_guard lock(mutex_);
        answers_.push_back({id, status, std::move(page)});
    }
    wake();
}

void Server::stop() {
    if (stopping_.exchange(true)) return;
    wake();
    if (thread_.joinable()) thread_.join();
    connections_.clear();  // closes them; the master learns from the worker's leaving
    std::lock_guard lock(mutex_);
    arrivals_.clear();
}

void Server::wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_.get(), &one, sizeof one);
}

void Server::run() {
    std::array<epoll_event, 64> events{};
    auto last_sweep = Clock::now();
    while (!stopping_) {
        const auto ready = COURIER_SYSCALL(::epoll_wait, epoll_.get(), events.data(),
                                           static_cast<int>(events.size()), 1000);
        for (long i = 0; i < (ready.ok() ? ready.value : 0); ++i) {
            const auto& event = events[static_cast<std::size_t>(i)];
            if (event.data.u64 == wake_id) {
                std::uint64_t count = 0;
                [[maybe_unused]] const auto got = ::read(wake_.get(), &count, sizeof count);
                take_inbox();
                continue;
            }
            const auto found = connections_.find(event.data.u64);
            if (found == connections_.end()) continue;  // closed earlier in this batch
            found->second.connection->on_ready(event.events);
            settle(found->second);
        }
        if (Clock::now() - last_sweep >= sweep_every) {
            last_sweep = Clock::now();
            sweep_timeouts();
        }
    }
}

void Server::take_inbox() {
    std::vector<Arrival> arrivals;
    std::vector<StatsAnswer> answers;
    {
        std::lock_guard lock(mutex_);
        arrivals.swap(arrivals_);
        answers.swap(answers_);
    }
    for (auto& arrival : arrivals) {
        if (arrival.id == wake_id || connections_.count(arrival.id) != 0) continue;  // closes it
        Entry entry;
        entry.connection =
            std::make_unique<Connection>(arrival.id, std::move(arrival.socket), site_);
        entry.interest = entry.connection->interest();
        epoll_event event{};
        event.events = entry.interest;
        event.data.u64 = arrival.id;
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, entry.connection->socket(), &event) != 0) {
            hooks_.closed(arrival.id, 0);
            continue;
        }
        connections_.emplace(arrival.id, std::move(entry));
    }
    for (const auto& answer : answers) {
        const auto found = connections_.find(answer.id);
        if (found == connections_.end()) continue;  // it closed while the master answered
        found->second.connection->on_stats(answer.status, answer.page);
        settle(found->second);
    }
}

void Server::settle(Entry& entry) {
    Connection& connection = *entry.connection;
    if (connection.wants_stats()) hooks_.want_stats(connection.id());
    if (connection.finished()) {
        // Out of epoll before the close: the master may still hold a copy of the socket,
        // and epoll forgets a socket only once every copy is closed.
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, connection.socket(), nullptr);
        const std::uint64_t id = connection.id();
        hooks_.closed(id, connection.requests());
        connections_.erase(id);  // closes the socket; `entry` is gone
        return;
    }
    const std::uint32_t interest = connection.interest();
    if (interest == entry.interest) return;
    epoll_event event{};
    event.events = interest;
    event.data.u64 = connection.id();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, connection.socket(), &event);
    entry.interest = interest;
}

void Server::sweep_timeouts() {
    const auto now = Clock::now();
    std::vector<std::uint64_t> ids;
    ids.reserve(connections_.size());
    for (const auto& [id, entry] : connections_) ids.push_back(id);
    for (const auto id : ids) {
        auto& entry = connections_.at(id);
        entry.connection->check_timeout(now);
        settle(entry);
    }
}

}  // namespace httpd
