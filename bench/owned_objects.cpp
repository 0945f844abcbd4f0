#include "owned_objects.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace courier::failure_times {

std::vector<std::string> owned_objects(const std::vector<pid_t>& pids) {
    std::vector<std::string> found;
    std::vector<std::string> marks;  // ".<pid>@"
    for (pid_t pid : pids) {
        std::string mark(".");
        mark.append(std::to_string(pid)).push_back('@');
        marks.push_back(std::move(mark));
    }
    for (const char* dir : {"/dev/shm", "/dev/mqueue"}) {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
            const std::string name = entry.path().filename().string();
            for (const auto& mark : marks)
                if (name.find(mark) != std::string::npos) found.push_back(entry.path().string());
        }
    }
    // key msqid perms cbytes qnum lspid lrpid uid gid cuid ...
    std::ifstream queues("/proc/sysvipc/msg");
    std::string line;
    std::getline(queues, line);  // the header
    while (std::getline(queues, line)) {
        std::istringstream fields(line);
        long long key = 0, id = 0, perms = 0, bytes = 0, count = 0, sender = 0, receiver = 0,
                  uid = 0;
        if (!(fields >> key >> id >> perms >> bytes >> count >> sender >> receiver >> uid))
            continue;
        if (uid != static_cast<long long>(::geteuid())) continue;
        auto ours = [&](long long pid) {
            return std::find(pids.begin(), pids.end(), static_cast<pid_t>(pid)) != pids.end();
        };
        if (ours(sender) || ours(receiver)) found.push_back("System V queue " + std::to_string(id));
    }
    return found;
}

}  // namespace courier::failure_times
