/// `courier top`: a live view of this host's nodes and links, refreshed every interval.
/// Per node: letters delivered and frames sent per second, bytes per second on its links,
/// mailbox depth (the total, and the fullest), dead letters, drops and restarts. Per link:
/// frames and bytes per second each way, and letters waiting for credit. On a terminal it
/// draws with ncurses (`q` quits); otherwise it prints each view as plain text.

#include "commands.hpp"
#include "node_session.hpp"
#include "table.hpp"

// Functions, not macros: ncurses would otherwise turn every refresh() and erase() into its own.
#define NCURSES_NOMACROS
#include <curses.h>
#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

namespace courier::cli {

namespace {

using Clock = std::chrono::steady_clock;

/// One node as last seen: its answer and when, to turn counts into rates.
struct Seen {
    std::optional<LinkList> last;
    Clock::time_point when;
};

std::string rate(std::uint64_t now, std::uint64_t before, double seconds) {
    if (seconds <= 0 || now < before) return "-";
    char text[32];
    std::snprintf(text, sizeof text, "%.0f", static_cast<double>(now - before) / seconds);
    return text;
}

std::string bytes_rate(std::uint64_t now, std::uint64_t before, double seconds) {
    if (seconds <= 0 || now < before) return "-";
    double per_second = static_cast<double>(now - before) / seconds;
    const char* unit = "B";
    for (const char* next : {"KiB", "MiB", "GiB"}) {
        if (per_second < 1024) break;
        per_second /= 1024;
        unit = next;
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.1f %s", per_second, unit);
    return text;
}

/// Link counters, keyed by the peer they go to, summed when a node has two to one peer.
struct LinkTotals {
    std::uint64_t frames_sent = 0, frames_received = 0, bytes = 0;
};
std::map<std::string, LinkTotals> by_peer(const LinkList& list) {
    std::map<std::string, LinkTotals> out;
    for (const auto& link : list.links) {
        if (link.peer_node.empty()) continue;  // a tool's (`courier ping`)
        auto& totals = out[link.peer_node + " " + link.transport];
        totals.frames_sent += link.frames_sent;
        totals.frames_received += link.frames_received;
        totals.bytes += link.bytes_sent + link.bytes_received;
    }
    return out;
}

std::uint64_t link_bytes(const LinkList& list) {
    std::uint64_t bytes = 0;
    for (const auto& [peer, totals] : by_peer(list)) bytes += totals.bytes;
    return bytes;
}

/// Asks every registered node once and renders what changed since the last view.
class View {
  public:
    explicit View(const TopOptions& options) : options_(options) {}

    std::vector<std::string> refresh() {
        using namespace std::chrono_literals;
        std::vector<std::string> lines;
        auto nodes = list_nodes();
        std::vector<std::vector<std::string>> node_rows{{"NODE", "PID", "IN/S", "OUT/S", "BYTES/S",
                                                         "MAILBOX", "FULLEST", "DEAD LETTERS",
                                                         "DROPS", "RESTARTS"}};
        std::vector<std::vector<std::string>> link_rows{
            {"NODE", "PEER", "TRANSPORT", "SENT/S", "RECEIVED/S", "BYTES/S", "OUTBOX"}};
        std::map<std::string, Seen> seen;
        for (const auto& node : nodes) {
            const std::string key = node.node + "/" + std::to_string(node.pid);
            Seen entry = take(key);
            auto answer = ask(node);
            const auto now = Clock::now();
            if (!answer) {
                node_rows.push_back(
                    {node.node, std::to_string(node.pid), "?", "?", "?", "?", "?", "?", "?", "?"});
                seen.emplace(key, std::move(entry));
                continue;
            }
            const LinkList& before = entry.last ? *entry.last : *answer;
            const double seconds =
                entry.last ? std::chrono::duration<double>(now - entry.when).count() : 0;
            std::uint64_t depth = 0, drops = 0;
            std::string fullest = "-";
            std::size_t most = 0;
            for (const auto& box : answer->mailboxes) {
                depth += box.depth;
                drops += box.dropped + box.refused;
                if (box.depth > most) {
                    most = box.depth;
                    fullest = box.name + " " + std::to_string(box.depth);
                }
            }
            const auto& stats = answer->stats;
            node_rows.push_back({node.node, std::to_string(node.pid),
                                 rate(stats.delivered_local, before.stats.delivered_local, seconds),
                                 rate(stats.sent_remote, before.stats.sent_remote, seconds),
                                 bytes_rate(link_bytes(*answer), link_bytes(before), seconds),
                                 std::to_string(depth), fullest, std::to_string(stats.dead_letters),
                                 std::to_string(drops), std::to_string(stats.restarts)});
            const auto then = by_peer(before);
            for (const auto& [peer, totals] : by_peer(*answer)) {
                auto old = then.find(peer);
                const LinkTotals& was = old == then.end() ? totals : old->second;
                const auto space = peer.find(' ');
                std::uint64_t outbox = 0;
                for (const auto& link : answer->links)
                    if (link.peer_node == peer.substr(0, space)) outbox += link.outbox;
                link_rows.push_back({node.node, peer.substr(0, space), peer.substr(space + 1),
                                     rate(totals.frames_sent, was.frames_sent, seconds),
                                     rate(totals.frames_received, was.frames_received, seconds),
                                     bytes_rate(totals.bytes, was.bytes, seconds),
                                     std::to_string(outbox)});
            }
            entry.last = std::move(*answer);
            entry.when = now;
            seen.emplace(key, std::move(entry));
        }
        seen_ = std::move(seen);  // nodes gone since are forgotten

        char stamp[32];
        const std::time_t wall = std::time(nullptr);
        std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&wall));
        lines.push_back("courier top - " + std::string(stamp) + " - " +
                        std::to_string(nodes.size()) + " nodes in " +
                        registry_dir(options_.runtime_dir).string() + " - every " +
                        std::to_string(options_.interval.count()) + " ms");
        lines.push_back("");
        if (!registry_error_.empty()) {
            lines.push_back(registry_error_);
            return lines;
        }
        append(lines, node_rows);
        lines.push_back("");
        if (link_rows.size() > 1)
            append(lines, link_rows);
        else
            lines.push_back("no links are open");
        return lines;
    }

  private:
    std::vector<registry::NodeInfo> list_nodes() {
        registry_error_.clear();
        try {
            if (!registry_) {
                RegistryOptions options;
                options.runtime_dir = registry_dir(options_.runtime_dir);
                options.autostart = false;
                registry_.emplace(options);
            }
            return registry_->list_nodes().nodes;
        } catch (const RegistryError& e) {
            registry_.reset();  // courierd went away: connect again next time
            registry_error_ = std::string("no courier registry: ") + e.what();
            return {};
        }
    }

    Seen take(const std::string& key) {
        auto it = seen_.find(key);
        if (it == seen_.end()) return {};
        Seen entry = std::move(it->second);
        seen_.erase(it);
        return entry;
    }

    /// What the node says of itself, asked through courierd.
    std::optional<LinkList> ask(const registry::NodeInfo& node) {
        if (!registry_) return std::nullopt;
        try {
            auto answer = inspect(*registry_, node.node);
            if (answer) return std::move(*answer);
        } catch (const RegistryError&) {
            registry_.reset();  // courierd went away: connect again next time
        }
        return std::nullopt;
    }

    static void append(std::vector<std::string>& lines,
                       const std::vector<std::vector<std::string>>& rows) {
        std::ostringstream text;
        auto* previous = std::cout.rdbuf(text.rdbuf());
        print_table(rows);
        std::cout.rdbuf(previous);
        std::string line;
        std::istringstream in(text.str());
        while (std::getline(in, line)) lines.push_back(line);
    }

    TopOptions options_;
    std::optional<RegistryClient> registry_;
    std::string registry_error_;
    std::map<std::string, Seen> seen_;
};

volatile std::sig_atomic_t stop_requested = 0;

void request_stop(int) {
    stop_requested = 1;
}

/// Plain text: each view printed whole, one after another.
int run_plain(const TopOptions& options) {
    View view(options);
    for (int shown = 0; !stop_requested; ++shown) {
        if (options.iterations != 0 && shown == options.iterations) break;
        if (shown != 0) std::this_thread::sleep_for(options.interval);
        for (const auto& line : view.refresh()) std::cout << line << "\n";
        std::cout << std::endl;
    }
    return 0;
}

/// ncurses: the view redrawn in place; `q` quits.
int run_terminal(const TopOptions& options) {
    View view(options);
    ::initscr();
    ::cbreak();
    ::noecho();
    ::curs_set(0);
    ::timeout(static_cast<int>(options.interval.count()));
    for (int shown = 0; !stop_requested; ++shown) {
        if (options.iterations != 0 && shown == options.iterations) break;
        const auto lines = view.refresh();
        ::erase();
        int row = 0;
        for (const auto& line : lines) {
            if (row >= LINES - 1) break;
            ::mvaddnstr(row++, 0, line.c_str(), COLS);
        }
        ::mvaddstr(LINES - 1, 0, "q: quit");
        ::refresh();
        const int key = ::getch();  // waits up to the interval
        if (key == 'q' || key == 'Q') break;
    }
    ::endwin();
    return 0;
}

}  // namespace

int top(const TopOptions& options) {
    std::signal(SIGINT, request_stop);
    std::signal(SIGTERM, request_stop);
    if (!options.plain && ::isatty(STDOUT_FILENO) && ::isatty(STDIN_FILENO))
        return run_terminal(options);
    return run_plain(options);
}

}  // namespace courier::cli
