#include "supervisor_support.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace courier::test {

ChildSpec worker(const TempRuntimeDir& dir, const std::string& id, std::vector<std::string> extra) {
    ChildSpec spec;
    spec.id = id;
    spec.names = {id};
    spec.process.argv = {(bin_dir() / "courier-test-spawned-node").string(),
                         id + "-node",
                         "sup-parent",
                         "--names",
                         id,
                         "--no-report"};
    spec.process.argv.insert(spec.process.argv.end(), extra.begin(), extra.end());
    spec.process.environment = {"COURIER_RUNTIME_DIR=" + dir.path().string(),
                                "COURIER_COURIERD=" + (bin_dir() / "courierd").string()};
    spec.process.node = id + "-node";
    spec.backoff_initial = 10ms;
    spec.backoff_max = 100ms;
    spec.start_timeout = 10s;
    return spec;
}

NodeOptions parent_options(const TempRuntimeDir& dir) {
    NodeOptions options;
    options.name = "sup-parent";
    options.registry = dir.options();
    return options;
}

std::map<std::string, ChildInfo> which(Node& node, const std::string& supervisor) {
    std::map<std::string, ChildInfo> out;
    auto answer = node.request<Children>(supervisor, WhichChildren{}, 5s);
    if (answer)
        for (auto& child : answer->children) out[child.id] = child;
    return out;
}

bool all_running(const std::map<std::string, ChildInfo>& children, std::size_t count) {
    if (children.size() != count) return false;
    for (const auto& [id, child] : children)
        if (child.state != "running" || child.pid == 0) return false;
    return true;
}

bool all_running(Node& node, std::size_t count) {
    return all_running(which(node), count);
}

std::vector<pid_t> zombies() {
    std::vector<pid_t> out;
    DIR* proc = ::opendir("/proc");
    while (proc != nullptr) {
        const dirent* entry = ::readdir(proc);
        if (entry == nullptr) break;
        std::ifstream stat(std::string("/proc/") + entry->d_name + "/stat");
        std::string line;
        if (!std::getline(stat, line)) continue;
        // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
        std::istringstream rest(line.substr(line.rfind(')') + 1));
        char state = 0;
        pid_t ppid = 0;
        rest >> state >> ppid;
        if (state == 'Z' && ppid == ::getpid()) out.push_back(std::atoi(entry->d_name));
    }
    if (proc != nullptr) ::closedir(proc);
    return out;
}

bool gone(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    return line.substr(line.rfind(')') + 2, 1) == "Z";
}

std::int64_t registered_pid(const TempRuntimeDir& dir, const std::string& name) {
    RegistryClient registry(dir.options());
    auto where = registry.lookup(name);
    return where.found ? where.pid : 0;
}

std::vector<std::string> log_lines(const std::filesystem::path& file) {
    std::vector<std::string> lines;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

}  // namespace courier::test
