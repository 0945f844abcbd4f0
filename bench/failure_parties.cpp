#include "failure_parties.hpp"

#include "failure_messages.hpp"
#include "failure_peer.hpp"
#include "peer_protocol.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace courier::failure_times {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---- Events ----------------------------------------------------------------------------

void Events::put(Event event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    arrived_.notify_all();
}

std::optional<Event> Events::take(const std::string& party, const std::string& name,
                                  std::chrono::milliseconds within) {
    std::unique_lock lock(mutex_);
    auto matches = [&](const Event& e) { return e.party == party && e.name == name; };
    if (!arrived_.wait_for(lock, within,
                           [&] { return std::any_of(events_.begin(), events_.end(), matches); }))
        return std::nullopt;
    auto found = std::find_if(events_.begin(), events_.end(), matches);
    Event event = std::move(*found);
    events_.erase(found);
    return event;
}

// ---- Peer ------------------------------------------------------------------------------

Peer::Peer(std::vector<std::string> args, const RunOptions& options)
    : process_(
          [&] {
              args.insert(args.begin(), {"--role", "peer", "--log-level", options.log_level});
              return args;
          }(),
          {}, {{"COURIER_RUNTIME_DIR", options.runtime_dir.string()}}) {}

std::map<std::string, std::string> Peer::await(const std::string& event,
                                               std::chrono::milliseconds within) {
    const auto deadline = Clock::now() + within;
    for (;;) {
        while (!lines_.empty()) {
            const auto report = bench::parse_report(lines_.front());
            lines_.erase(lines_.begin());
            using Type = bench::Report::Type;
            if (report.type == Type::error)
                throw std::runtime_error("peer " + std::to_string(pid()) + ": " + report.text);
            if (report.type == Type::ready && event == "ready") return {};
            if (report.type == Type::result) {
                auto said = report.fields.find("event");
                if (said != report.fields.end() && said->second == event) return report.fields;
            }
        }
        const auto now = Clock::now();
        if (process_.at_eof() || now >= deadline)
            throw std::runtime_error("peer " + std::to_string(pid()) + " " +
                                     (process_.at_eof() ? "ended" : "said nothing") +
                                     " while awaited for '" + event + "'");
        pollfd p{process_.report_fd(), POLLIN, 0};
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
        if (::poll(&p, 1, static_cast<int>(wait.count()) + 1) > 0) process_.read_lines(lines_);
    }
}

bool Peer::finish(std::chrono::milliseconds within) {
    process_.finish();
    return process_.wait_exit(Clock::now() + within) == 0;
}

void Peer::reap(std::chrono::milliseconds within) {
    process_.wait_exit(Clock::now() + within);
}

// ---- Observers -------------------------------------------------------------------------

namespace {

void spawn_watcher(Node& node, const std::string& name, const std::string& party, Events& events) {
    node.spawn(name, [&events, party](Actor& self) {
        self.handle([&self](Watch& watch) { self.reply(Armed{self.monitor(watch.name).id}); });
        self.handle([&events, party](Down& down) {
            events.put({party, down.name, std::string(to_string(down.reason)), bench::now_ns()});
        });
    });
}

}  // namespace

Observers::Observers(const std::string& transport, const RunOptions& options, Events& events)
    : events_(events),
      linked_watcher_("watcher-a-" + transport),
      unlinked_watcher_("watcher-c-" + transport),
      linked_(node_options("failure-times-a-" + transport, transport, options.runtime_dir)),
      unlinked_(node_options("failure-times-c-" + transport, transport, options.runtime_dir)) {
    spawn_watcher(linked_, linked_watcher_, "linked monitor", events_);
    spawn_watcher(unlinked_, unlinked_watcher_, "unlinked monitor", events_);
}

Observers::~Observers() {
    for (auto& asker : askers_) asker.join();
}

void Observers::monitor(const std::string& name) {
    for (auto [node, watcher] :
         {std::pair{&linked_, &linked_watcher_}, std::pair{&unlinked_, &unlinked_watcher_}}) {
        auto armed = node->request<Armed>(*watcher, Watch{name}, 5s);
        if (!armed)
            throw std::runtime_error("watcher " + *watcher + " did not set up its monitor of " +
                                     name + ": " + armed.error().message);
    }
}

void Observers::ask(const std::string& name) {
    askers_.emplace_back([this, name] {
        // Longer than any deadline: a request that waits it out is a finding.
        auto answer = linked_.request<Answer>(name, Ask{}, 30s);
        const auto at = bench::now_ns();
        events_.put({"request", name,
                     answer ? std::string("answered") : std::string(to_string(answer.error().code)),
                     at});
    });
}

}  // namespace courier::failure_times
