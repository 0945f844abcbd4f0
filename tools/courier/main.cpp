/// courier: the command-line tool. `courier ps` lists the nodes of this host's registry.
/// Subcommands to come: `links`, `clean`, `bench` (docs/registry.md).

#include <courier/framework/registry_client.hpp>
#include <courier/framework/runtime_dir.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
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

/// Prints a table of the registry's nodes. Never starts a registry.
int ps(const std::string& runtime_dir) {
    courier::RegistryOptions options;
    options.runtime_dir =
        runtime_dir.empty() ? courier::default_runtime_dir() : std::filesystem::path(runtime_dir);
    options.autostart = false;
    courier::registry::NodeList list;
    try {
        courier::RegistryClient client(options);
        list = client.list_nodes();
    } catch (const courier::RegistryNotRunning&) {
        std::cout << "no courier registry is running in " << options.runtime_dir.string() << "\n";
        return 0;
    } catch (const courier::RegistryError& e) {
        std::cerr << "courier ps: " << e.what() << "\n";
        return 1;
    }
    if (list.nodes.empty()) {
        std::cout << "no nodes are registered in " << options.runtime_dir.string() << "\n";
        return 0;
    }
    std::vector<std::vector<std::string>> rows{{"NODE", "PID", "ENDPOINTS", "NAMES"}};
    for (const auto& node : list.nodes)
        rows.push_back(
            {node.node, std::to_string(node.pid), joined(node.endpoints), joined(node.names)});
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
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"courier: inspect the courier nodes of this host"};
    app.require_subcommand(1);
    std::string runtime_dir;

    auto* ps_command = app.add_subcommand("ps", "list the registered nodes and their names");
    ps_command->add_option("--runtime-dir", runtime_dir,
                           "registry directory (default: $COURIER_RUNTIME_DIR, "
                           "$XDG_RUNTIME_DIR/courier, /tmp/courier-$UID)");
    // Each subcommand is one function; `links`, `clean` and `bench` will join `ps` here.

    CLI11_PARSE(app, argc, argv);
    if (ps_command->parsed()) return ps(runtime_dir);
    return 2;
}
