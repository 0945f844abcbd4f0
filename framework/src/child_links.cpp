// A node's child processes and the links they inherit: the parent's side
// (Peers::spawn_process) and the child's (Peers::adopt_parent_link).
//
// The parent makes the link before the child exists, with a transport that links
// children (TransportEntry::child_link, e.g. pipe:), and hands the child its end through
// posix_spawn plus three environment variables. The child's first Node takes it at start.
// Routing then needs nothing new: the child records the link under its parent's node
// name; the parent records it under the child's pid until the child's name is known
// (from its Hello, or from a registry lookup that names that pid). The child also gets
// the parent's config, as text in its environment (pass_config).

#include "config_text.hpp"
#include "node_core.hpp"
#include "peers.hpp"

#include <courier/log.hpp>
#include <courier/transports/transport.hpp>

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>

namespace courier::detail {

namespace {

/// The parent's node name, pid and the endpoint of the child's end of the link.
constexpr const char* parent_variable = "COURIER_PARENT";
constexpr const char* parent_pid_variable = "COURIER_PARENT_PID";
constexpr const char* parent_link_variable = "COURIER_PARENT_LINK";
/// Where the child's inherited descriptors start (after stdin, stdout, stderr); the
/// link's ends come after the application's (ProcessOptions::inherit).
constexpr int first_child_fd = 3;

/// One process inherits at most one parent link; the first Node started takes it.
std::atomic<bool> parent_link_taken{false};

std::string child_node_name(const ProcessOptions& options) {
    if (!options.node.empty()) return options.node;
    return std::filesystem::path(options.argv.front()).filename().string();
}

/// The child starts with our config (the same links, rules and settings, but a listen
/// address of our own: inherited_toml), unless the
/// application gave it one (COURIER_CONFIG or COURIER_TRANSPORT in its environment). An
/// empty variable counts as unset: it hides one ours or our parent's environment has.
void pass_config(ProcessOptions& options, const Config& config) {
    auto sets = [&](std::string_view name) {
        return std::ranges::any_of(options.environment, [&](const std::string& entry) {
            return std::string_view(entry).substr(0, entry.find('=')) == name;
        });
    };
    if (sets(config_text_variable)) return;
    options.environment.push_back(
        std::string(config_text_variable) + "=" +
        (sets("COURIER_CONFIG") ? std::string() : inherited_toml(config)));
    if (!sets("COURIER_TRANSPORT"))
        options.environment.push_back("COURIER_TRANSPORT=" +
                                      config.override_transport.value_or(std::string()));
}

}  // namespace

ChildProcess Peers::spawn_process(ProcessOptions options) {
    if (options.argv.empty() || options.argv.front().empty())
        throw std::invalid_argument("spawn_process: argv is empty");
    pass_config(options, node_.config());
    if (!node_.registry()) return ChildProcess::start(options);  // a node alone has no links

    // Both ends offer what we listen on (the child reads the same environment) plus every
    // transport that links children.
    std::vector<std::string> offered = listening_schemes();
    for (const auto& entry : TransportRegistry::builtin().entries())
        if (entry.child_link) offered.push_back(entry.scheme);
    const std::string child = child_node_name(options);
    const Config& config = node_.config();
    const std::string& name = node_.name();
    auto selection = choose(config, name, child, offered, offered, /*same_host=*/true);
    const TransportEntry* transport =
        selection ? TransportRegistry::builtin().find(selection->transport) : nullptr;
    if (!transport || !transport->child_link) {
        log().debug(
            "node '{}': {} links through the registry: {}", name, child,
            selection ? selection->transport + " does not link children" : selection.error());
        return ChildProcess::start(options);
    }

    ChildLink made = TransportRegistry::builtin().child_link(
        transport->scheme, config.settings(transport->scheme).options(),
        first_child_fd + static_cast<int>(options.inherit.size()));
    options.environment.push_back(std::string(parent_variable) + "=" + name);
    options.environment.push_back(std::string(parent_pid_variable) + "=" +
                                  std::to_string(::getpid()));
    options.environment.push_back(std::string(parent_link_variable) + "=" +
                                  made.child_endpoint.to_string());
    std::vector<int> inherit;
    for (const auto& fd : made.child_fds) inherit.push_back(fd.get());
    ChildProcess process = ChildProcess::start(options, inherit);
    // Our copies of the child's ends go now, so the child's exit is an end of file here.
    made.child_fds.clear();

    auto peer = std::make_shared<PeerLink>();
    peer->link = std::move(made.link);
    peer->transport = transport->scheme;
    peer->reason = selection->describe();
    peer->initiated = true;
    {
        std::lock_guard lock(mutex_);
        std::erase_if(children_, [](const auto& entry) {
            auto known = entry.second.lock();
            return !known || known->broken;
        });
        children_[process.pid()] = peer;
    }
    watch(peer);
    log().debug("node '{}': spawned {} (pid {}) linked over {}", name, options.argv.front(),
                process.pid(), peer->link->peer());
    return process;
}

std::shared_ptr<PeerLink> Peers::spawned(const registry::Location& where) {
    auto found = children_.find(static_cast<pid_t>(where.pid));
    if (found == children_.end()) return nullptr;
    auto peer = found->second.lock();
    if (!peer || peer->broken) return nullptr;
    if (peer->node().empty()) peer->name(where.node);
    by_node_.try_emplace(where.node, peer);
    return peer;
}

void Peers::adopt_parent_link() {
    const std::string& name = node_.name();
    const char* parent = std::getenv(parent_variable);
    const char* parent_pid = std::getenv(parent_pid_variable);
    const char* uri = std::getenv(parent_link_variable);
    if (parent == nullptr || parent_pid == nullptr || uri == nullptr) return;
    // A grandchild inherits the variables but not the descriptors they name (they are
    // close-on-exec); the pid tells whether they were meant for this process.
    if (std::to_string(::getppid()) != parent_pid) {
        log().debug("node '{}': {}={} is not for us: our parent is pid {}", name,
                    parent_link_variable, uri, ::getppid());
        return;
    }
    if (parent_link_taken.exchange(true)) return;
    const std::string context = "node '" + name + "' cannot take the link to its parent node '" +
                                parent + "' (" + parent_link_variable + "=" + uri + ")";
    if (!is_valid_name(parent) || parent == name)
        throw SetupError(ErrorCode::link_failed, context + ": not a valid parent node name");
    auto peer = std::make_shared<PeerLink>();
    peer->name(parent);
    peer->reason = "inherited";
    try {
        const Endpoint endpoint = Endpoint::parse(uri);
        peer->transport = endpoint.scheme;
        peer->link = TransportRegistry::builtin().connect(
            endpoint, node_.config().settings(endpoint.scheme).options());
        EnvelopeHeader header;
        header.recipient = peer->node();
        peer->link->send(encode_message(header, Hello{name}));
    } catch (const std::exception& e) {
        throw SetupError(ErrorCode::link_failed, context + ": " + e.what());
    }
    watch(peer);
    std::lock_guard lock(mutex_);
    by_node_[peer->node()] = peer;
}

}  // namespace courier::detail
