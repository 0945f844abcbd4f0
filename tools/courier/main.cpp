/// courier: the command-line tool. `courier ps` lists the nodes of this host's registry,
/// their fullest mailboxes and dead letters; `courier groups` its actor groups and their
/// members; `courier links` asks each node for its links, dead letters and mailboxes;
/// `courier clean` removes what dead processes left; `courier bench` runs courier-bench.

#include "node_protocol.hpp"
#include "registry/registry_client.hpp"

#include <courier/framework/runtime_dir.hpp>
#include <courier/serialization/codec.hpp>
#include <courier/transports/orphans.hpp>
#include <courier/transports/transport.hpp>

#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += ", ";
        out += item;
    }
    return out.empty() ? "-" : out;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width(rows.front().size(), 0);
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
        }
        std::cout << line << "\n";
    }
}

std::filesystem::path registry_dir(const std::string& runtime_dir) {
    return runtime_dir.empty() ? courier::default_runtime_dir()
                               : std::filesystem::path(runtime_dir);
}

/// What `ask` asks the registry, or nullopt (with a message printed) when there is no
/// registry. Never starts a registry.
template <class Ask>
auto ask_registry(const std::string& runtime_dir, const char* command, Ask ask)
    -> std::optional<decltype(ask(std::declval<courier::RegistryClient&>()))> {
    courier::RegistryOptions options;
    options.runtime_dir = registry_dir(runtime_dir);
    options.autostart = false;
    try {
        courier::RegistryClient client(options);
        return ask(client);
    } catch (const courier::RegistryNotRunning&) {
        std::cout << "no courier registry is running in " << options.runtime_dir.string() << "\n";
    } catch (const courier::RegistryError& e) {
        std::cerr << "courier " << command << ": " << e.what() << "\n";
    }
    return std::nullopt;
}

/// The registry's nodes, or nullopt (with a message printed) when there is no registry.
std::optional<courier::registry::NodeList> registered_nodes(const std::string& runtime_dir,
                                                            const char* command) {
    return ask_registry(runtime_dir, command,
                        [](courier::RegistryClient& client) { return client.list_nodes(); });
}

/// Asks one node for its links and dead letters over the first of its endpoints that
/// connects, waiting up to `within` for each.
courier::Expected<courier::LinkList, std::string> ask_node(const courier::registry::NodeInfo& node,
                                                           std::chrono::milliseconds within) {
    std::string errors;
    for (const auto& uri : node.endpoints) {
        try {
            auto link =
                courier::TransportRegistry::builtin().connect(courier::Endpoint::parse(uri));
            courier::EnvelopeHeader header;
            header.flags = courier::envelope_flags::request;
            header.correlation = 1;
            header.sender = "courier-cli";
            header.recipient = courier::node_service_name;
            link->send(courier::encode_message(header, courier::LinksQuery{}));
            auto deadline = std::chrono::steady_clock::now() + within;
            std::vector<courier::Frame> frames;
            while (std::chrono::steady_clock::now() < deadline) {
                pollfd p{link->poll_fd(), POLLIN, 0};
                ::poll(&p, 1, 100);
                auto status = link->receive(frames);
                for (auto& frame : frames) {
                    auto view = courier::decode_envelope(frame.data());
                    if (!view || view->header.type != courier::type_id_of<courier::LinkList>())
                        continue;
                    auto list = courier::decode_payload<courier::LinkList>(view->payload);
                    if (list) return std::move(*list);
                    return courier::Unexpected{list.error().message};
                }
                if (status.state != courier::ReceiveStatus::State::open) break;
            }
            errors += uri + ": no answer; ";
        } catch (const std::exception& e) {
            errors += uri + ": " + e.what() + "; ";
        }
    }
    return courier::Unexpected{errors.empty() ? std::string("no endpoints") : errors};
}

/// "consumer (unknown_name) 41230, ...": where a node's dead letters went.
std::string dead_letter_targets(const courier::LinkList& list) {
    std::string out;
    for (const auto& target : list.dead_letter_targets) {
        if (!out.empty()) out += ", ";
        out += target.recipient + " (" + std::string(courier::to_string(target.code)) + ") " +
               std::to_string(target.count);
    }
    return out.empty() ? "-" : out;
}

/// Where orphans are looked for: the runtime directory (FIFOs of default endpoints) and
/// the directories of the registered nodes' fifo: endpoints.
courier::OrphanSearch orphan_search(const std::string& runtime_dir,
                                    const courier::registry::NodeList* nodes) {
    courier::OrphanSearch search;
    search.fifo_dirs.push_back(registry_dir(runtime_dir));
    if (nodes == nullptr) return search;
    for (const auto& node : nodes->nodes) {
        for (const auto& uri : node.endpoints) {
            try {
                const auto endpoint = courier::Endpoint::parse(uri);
                if (endpoint.scheme != "fifo") continue;
                const auto dir = std::filesystem::path(endpoint.address).parent_path();
                if (std::find(search.fifo_dirs.begin(), search.fifo_dirs.end(), dir) ==
                    search.fifo_dirs.end())
                    search.fifo_dirs.push_back(dir);
            } catch (const std::exception&) {
            }
        }
    }
    return search;
}

/// The line `courier ps` ends with when dead processes left something.
void mention_orphans(const std::string& runtime_dir, const courier::registry::NodeList* nodes) {
    const auto orphans = courier::find_orphans(orphan_search(runtime_dir, nodes));
    if (orphans.empty()) return;
    std::cout << orphans.size() << (orphans.size() == 1 ? " object" : " objects")
              << " left by dead processes: run courier clean\n";
}

/// Lists the orphans of dead processes and, unless `dry_run`, removes them.
int clean(const std::string& runtime_dir, bool dry_run) {
    courier::registry::NodeList nodes;
    {
        // Quietly: clean needs no registry, it only borrows the nodes' fifo directories.
        courier::RegistryOptions options;
        options.runtime_dir = registry_dir(runtime_dir);
        options.autostart = false;
        try {
            courier::RegistryClient client(options);
            nodes = client.list_nodes();
        } catch (const courier::RegistryError&) {
        }
    }
    const auto orphans = courier::find_orphans(orphan_search(runtime_dir, &nodes));
    int status = 0;
    for (const auto& orphan : orphans) {
        if (dry_run) {
            std::cout << "would remove " << orphan.describe() << "\n";
            continue;
        }
        std::string why;
        if (courier::remove_orphan(orphan, &why)) {
            std::cout << "removed " << orphan.describe() << "\n";
        } else {
            std::cerr << "courier clean: kept " << orphan.describe() << ": " << why << "\n";
            status = 1;
        }
    }
    if (orphans.empty()) std::cout << "nothing left by dead processes\n";
    return status;
}

/// "consumer 9800/10000": the mailbox fullest against its limit; "-" when all are empty.
std::string fullest_mailbox(const courier::LinkList& list) {
    const courier::MailboxStats* fullest = nullptr;
    for (const auto& box : list.mailboxes) {
        if (box.depth == 0) continue;
        if (!fullest || box.depth * fullest->limit.letters > fullest->depth * box.limit.letters)
            fullest = &box;
    }
    if (!fullest) return "-";
    return fullest->name + " " + std::to_string(fullest->depth) + "/" +
           std::to_string(fullest->limit.letters);
}

/// "node-b 64": the link with the most letters waiting for credit, and how many; "-" if
/// none wait.
std::string waiting_for_credit(const courier::LinkList& list) {
    const courier::LinkInfo* most = nullptr;
    for (const auto& link : list.links)
        if (link.outbox != 0 && (!most || link.outbox > most->outbox)) most = &link;
    if (!most) return "-";
    return (most->peer_node.empty() ? most->peer : most->peer_node) + " " +
           std::to_string(most->outbox);
}

/// Prints a table of the registry's nodes, with each node's dead letters (asked of it).
int ps(const std::string& runtime_dir) {
    using namespace std::chrono_literals;
    auto nodes = registered_nodes(runtime_dir, "ps");
    if (!nodes) {
        mention_orphans(runtime_dir, nullptr);
        return 0;
    }
    const auto& list = *nodes;
    if (list.nodes.empty()) {
        std::cout << "no nodes are registered in " << registry_dir(runtime_dir).string() << "\n";
        mention_orphans(runtime_dir, &list);
        return 0;
    }
    std::vector<std::vector<std::string>> rows{{"NODE", "PID", "ENDPOINTS", "NAMES",
                                                "FULLEST MAILBOX", "WAITING FOR CREDIT",
                                                "DEAD LETTERS"}};
    for (const auto& node : list.nodes) {
        // "?": the node cannot be asked (it listens on nothing, or did not answer).
        std::string dead = "?", fullest = "?", waiting = "?";
        if (auto asked = ask_node(node, 1s)) {
            dead = std::to_string(asked->dead_letters);
            if (!asked->dead_letter_targets.empty())
                dead += " (most to " + asked->dead_letter_targets.front().recipient + ")";
            fullest = fullest_mailbox(*asked);
            waiting = waiting_for_credit(*asked);
        }
        rows.push_back({node.node, std::to_string(node.pid), joined(node.endpoints),
                        joined(node.names), fullest, waiting, dead});
    }
    print_table(rows);
    mention_orphans(runtime_dir, &list);
    return 0;
}

/// Prints each group of the registry, how many members it has and who they are, in the
/// order they joined ("worker/1@node-a 41022").
int groups(const std::string& runtime_dir) {
    auto directory = ask_registry(runtime_dir, "groups", [](courier::RegistryClient& client) {
        return client.list_groups();
    });
    if (!directory) return 0;
    if (directory->groups.empty()) {
        std::cout << "no groups in " << registry_dir(runtime_dir).string() << "\n";
        return 0;
    }
    std::vector<std::vector<std::string>> rows{{"GROUP", "COUNT", "MEMBERS"}};
    for (const auto& group : directory->groups) {
        std::vector<std::string> members;
        for (const auto& member : group.members)
            members.push_back(member.name + "@" + member.node + " " + std::to_string(member.pid));
        rows.push_back({group.group, std::to_string(group.members.size()), joined(members)});
    }
    print_table(rows);
    return 0;
}

/// Prints every open link of every node: ends, transport, why, counters and credit
/// (what it may still send, letters waiting for credit, the peer's letters not yet taken,
/// how long its senders waited); then the
/// nodes that have dead letters, and where they went.
int links(const std::string& runtime_dir) {
    using namespace std::chrono_literals;
    auto nodes = registered_nodes(runtime_dir, "links");
    if (!nodes) return 0;
    std::vector<std::vector<std::string>> rows{{"NODE", "PEER", "TRANSPORT", "WHY", "SENT",
                                                "RECEIVED", "ERRORS", "CREDIT", "OUTBOX",
                                                "UNRETURNED", "WAITED"}};
    std::vector<std::vector<std::string>> dead_rows{{"NODE", "DEAD LETTERS", "MOST TO"}};
    std::vector<std::vector<std::string>> mailbox_rows{{"NODE", "ACTOR", "MAILBOX", "HIGHEST",
                                                        "LIMIT", "OVERFLOW", "SLOWED", "REFUSED",
                                                        "DROPPED"}};
    int status = 0;
    for (const auto& node : nodes->nodes) {
        if (node.endpoints.empty()) {
            // Not an error: a node may listen on nothing and be reached only over the links
            // it made, such as a pipe to the parent that spawned it.
            std::cerr << "courier links: node '" << node.node
                      << "' listens on no transport, so it cannot be asked; its links to "
                         "listening nodes show from their end\n";
            continue;
        }
        auto list = ask_node(node, 3s);
        if (!list) {
            std::cerr << "courier links: node '" << node.node << "': " << list.error() << "\n";
            status = 1;
            continue;
        }
        for (const auto& link : list->links) {
            if (link.peer_node.empty()) continue;  // a query like this one, not a node
            rows.push_back(
                {node.node, link.peer_node, link.transport, link.reason,
                 std::to_string(link.frames_sent) + " (" + std::to_string(link.bytes_sent) + " B)",
                 std::to_string(link.frames_received) + " (" + std::to_string(link.bytes_received) +
                     " B)",
                 std::to_string(link.errors), std::to_string(link.credit),
                 std::to_string(link.outbox), std::to_string(link.unreturned),
                 std::to_string(link.blocked_us / 1000) + " ms"});
        }
        if (list->dead_letters != 0)
            dead_rows.push_back(
                {node.node, std::to_string(list->dead_letters), dead_letter_targets(*list)});
        for (const auto& box : list->mailboxes)
            mailbox_rows.push_back(
                {node.node, box.name, std::to_string(box.depth), std::to_string(box.high_water),
                 std::to_string(box.limit.letters) + " (" + std::to_string(box.limit.bytes) + " B)",
                 std::string(courier::to_string(box.limit.overflow)),
                 std::to_string(box.blocked_us / 1000) + " ms", std::to_string(box.refused),
                 std::to_string(box.dropped)});
    }
    if (rows.size() == 1)
        std::cout << "no links are open\n";
    else
        print_table(rows);
    if (dead_rows.size() > 1) {
        std::cout << "\n";
        print_table(dead_rows);
    }
    if (mailbox_rows.size() > 1) {
        std::cout << "\n";
        print_table(mailbox_rows);
    }
    return status;
}

/// Replaces this process with courier-bench (beside this program, else on PATH), passing
/// `args` on. Returns only when it cannot be started.
int bench(const std::vector<std::string>& args) {
    std::error_code error;
    auto self = std::filesystem::read_symlink("/proc/self/exe", error);
    auto beside = self.parent_path() / "courier-bench";
    const std::string program =
        !error && ::access(beside.c_str(), X_OK) == 0 ? beside.string() : "courier-bench";
    std::vector<std::string> argv_strings{program};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::cerr << "courier bench: cannot run " << program << ": " << std::strerror(errno) << "\n";
    return 127;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"courier: inspect the courier nodes of this host"};
    app.require_subcommand(1);
    std::string runtime_dir;

    auto* ps_command =
        app.add_subcommand("ps", "list the registered nodes, their names and dead letters");
    ps_command->add_option("--runtime-dir", runtime_dir,
                           "registry directory (default: $COURIER_RUNTIME_DIR, "
                           "$XDG_RUNTIME_DIR/courier, /tmp/courier-$UID)");
    auto* groups_command = app.add_subcommand(
        "groups", "list the actor groups, how many members each has, and who they are");
    groups_command->add_option("--runtime-dir", runtime_dir, "registry directory (as for ps)");
    auto* links_command = app.add_subcommand(
        "links", "list every open link (its ends, transport and why) and the dead letters");
    links_command->add_option("--runtime-dir", runtime_dir, "registry directory (as for ps)");
    auto* bench_command =
        app.add_subcommand("bench",
                           "measure courier against the raw IPC mechanisms (runs courier-bench; "
                           "`courier bench --help` lists its options)");
    bench_command->prefix_command();  // everything after `bench` is courier-bench's
    bench_command->set_help_flag();
    bool dry_run = false;
    auto* clean_command = app.add_subcommand(
        "clean", "remove the IPC objects (queues, segments, FIFOs) of dead processes");
    clean_command->add_option("--runtime-dir", runtime_dir, "registry directory (as for ps)");
    clean_command->add_flag("--dry-run", dry_run, "list them only");
    // Each subcommand is one function.

    CLI11_PARSE(app, argc, argv);
    if (ps_command->parsed()) return ps(runtime_dir);
    if (groups_command->parsed()) return groups(runtime_dir);
    if (links_command->parsed()) return links(runtime_dir);
    if (clean_command->parsed()) return clean(runtime_dir, dry_run);
    if (bench_command->parsed()) return bench(bench_command->remaining());
    return 2;
}
