/// `courier groups`: each actor group of the registry, its members in the order they
/// joined ("worker/1@node-a 41022").

#include "commands.hpp"
#include "json_output.hpp"
#include "node_session.hpp"
#include "table.hpp"

#include <iostream>

namespace courier::cli {

int groups(const std::string& runtime_dir, bool json) {
    auto directory = ask_registry(
        runtime_dir, "groups", [](RegistryClient& client) { return client.list_groups(); },
        json ? std::cerr : std::cout);
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        if (directory)
            for (const auto& group : directory->groups) out.push_back(json_of(group));
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    if (!directory) return 0;
    if (directory->groups.empty()) {
        std::cout << "no groups in " << registry_dir(runtime_dir).string() << "\n";
        return 0;
    }
    std::vector<std::vector<std::string>> rows{{"GROUP", "COUNT", "MEMBERS"}};
    for (const auto& group : directory->groups) {
        std::vector<std::string> members;
        for (const auto& member : group.members)
            // Another host's member is already name@host, and its pid means nothing here.
            members.push_back(member.pid == 0 ? member.name + " on " + member.node
                                              : member.name + "@" + member.node + " " +
                                                    std::to_string(member.pid));
        rows.push_back({group.group, std::to_string(group.members.size()), joined(members)});
    }
    print_table(rows);
    return 0;
}

}  // namespace courier::cli
