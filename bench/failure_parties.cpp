#include "failure_parties.hpp"

#include "failure_messages.hpp"
#include "failure_peer.hpp"
#include "peer_process.hpp"
#include "peer_protocol.hpp"

#include <courier/posix_call.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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

Peer::Peer(std::vector<std::string> args, const RunOptions& options, Node* spawner) {
    int report[2], control[2];
    COURIER_SYSCALL(::pipe2, report, O_CLOEXEC).value_or_throw("a report pipe for a peer");
    report_ = Fd(report[0]);
    const Fd report_write(report[1]);
    COURIER_SYSCALL(::pipe2, control, O_CLOEXEC).value_or_throw("a control pipe for a peer");
    const Fd control_read(control[0]);
    control_ = Fd(control[1]);

    ProcessOptions process;
    process.argv = {bench::self_executable(), "--role", "peer", "--log-level", options.log_level};
    process.argv.insert(process.argv.end(), args.begin(), args.end());
    process.argv.insert(process.argv.end(), {"--report-fd", "3", "--control-fd", "4"});
    process.environment = {"COURIER_RUNTIME_DIR=" + options.runtime_dir.string()};
    process.inherit = {report_write.get(), control_read.get()};  // at 3 and 4
    process.parent_death_signal = SIGKILL;  // no peer outlives a measurement that died
    child_ = spawner ? spawner->spawn_process(process) : ChildProcess::start(process);
}

bool Peer::read() {
    char buffer[4096];
    auto got = COURIER_SYSCALL(::read, report_.get(), buffer, sizeof(buffer));
    if (!got.ok() || got.value == 0) return false;
    partial_.append(buffer, static_cast<std::size_t>(got.value));
    for (std::size_t end; (end = partial_.find('\n')) != std::string::npos;) {
        lines_.push_back(partial_.substr(0, end));
        partial_.erase(0, end + 1);
    }
    return true;
}

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
        if (ended_ || now >= deadline)
            throw std::runtime_error("peer " + std::to_string(pid()) + " " +
                                     (ended_ ? "ended" : "said nothing") + " while awaited for '" +
                                     event + "'");
        pollfd p{report_.get(), POLLIN, 0};
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
        if (::poll(&p, 1, static_cast<int>(wait.count()) + 1) > 0) ended_ = !read();
    }
}

bool Peer::finish(std::chrono::milliseconds within) {
    control_.reset();
    const auto status = child_.wait_for(within);
    return status && status->success();
}

void Peer::reap(std::chrono::milliseconds within) {
    (void)child_.wait_for(within);
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
