#include "leftovers.hpp"

#include "commands.hpp"
#include "node_session.hpp"

#include <courier/transports/endpoint.hpp>
#include <courier/transports/orphans.hpp>

#include <algorithm>
#include <iostream>

namespace courier::cli {

namespace {

/// Where orphans are looked for: the runtime directory (FIFOs of default endpoints) and
/// the directories of the registered nodes' fifo: endpoints.
OrphanSearch orphan_search(const std::string& runtime_dir, const registry::NodeList* nodes) {
    OrphanSearch search;
    search.fifo_dirs.push_back(registry_dir(runtime_dir));
    if (nodes == nullptr) return search;
    for (const auto& node : nodes->nodes) {
        for (const auto& uri : node.endpoints) {
            try {
                const auto endpoint = Endpoint::parse(uri);
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

}  // namespace

void mention_orphans(const std::string& runtime_dir, const registry::NodeList* nodes) {
    const auto orphans = find_orphans(orphan_search(runtime_dir, nodes));
    if (orphans.empty()) return;
    std::cout << orphans.size() << (orphans.size() == 1 ? " object" : " objects")
              << " left by dead processes: run courier clean\n";
}

int clean(const std::string& runtime_dir, bool dry_run) {
    registry::NodeList nodes;
    {
        // Quietly: clean needs no registry, it only borrows the nodes' fifo directories.
        RegistryOptions options;
        options.runtime_dir = registry_dir(runtime_dir);
        options.autostart = false;
        try {
            RegistryClient client(options);
            nodes = client.list_nodes();
        } catch (const RegistryError&) {
        }
    }
    const auto orphans = find_orphans(orphan_search(runtime_dir, &nodes));
    int status = 0;
    for (const auto& orphan : orphans) {
        if (dry_run) {
            std::cout << "would remove " << orphan.describe() << "\n";
            continue;
        }
        std::string why;
        if (remove_orphan(orphan, &why)) {
            std::cout << "removed " << orphan.describe() << "\n";
        } else {
            std::cerr << "courier clean: kept " << orphan.describe() << ": " << why << "\n";
            status = 1;
        }
    }
    if (orphans.empty()) std::cout << "nothing left by dead processes\n";
    return status;
}

}  // namespace courier::cli
