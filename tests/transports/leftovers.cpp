#include "leftovers.hpp"

#include <fcntl.h>
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace courier::test {

namespace fs = std::filesystem;

namespace {

/// Queue names a process may have made carry a counter; no test makes this many links.
constexpr unsigned max_queue_counter = 1000;

struct SysvQueue {
    int id = 0;
    pid_t last_sender = 0;
    pid_t last_receiver = 0;
};

/// The System V message queues of the host (our IPC namespace), as ipcs -q lists them.
std::vector<SysvQueue> sysv_queues() {
    std::vector<SysvQueue> queues;
    std::ifstream table("/proc/sysvipc/msg");
    std::string line;
    std::getline(table, line);  // the header
    while (std::getline(table, line)) {
        // key msqid perms cbytes qnum lspid lrpid uid ...
        std::istringstream fields(line);
        long long key = 0, perms = 0, cbytes = 0, qnum = 0;
        SysvQueue queue;
        if (fields >> key >> queue.id >> perms >> cbytes >> qnum >> queue.last_sender >>
            queue.last_receiver) {
            queues.push_back(queue);
        }
    }
    return queues;
}

/// The name objects made for `endpoint` start with: the last component of its address.
std::string stem_of(const Endpoint& endpoint) {
    std::string stem = fs::path(endpoint.address).filename();
    if (stem.starts_with('@')) stem.erase(0, 1);
    return stem;
}

}  // namespace

Leftovers::Leftovers(const TempDir& dir, Endpoint endpoint)
    : dir_(dir), endpoint_(std::move(endpoint)), children_before_(forked_children().size()) {
    for (const auto& queue : sysv_queues()) sysv_before_.insert(queue.id);
}

std::vector<std::string> Leftovers::find() const {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(dir_.path())) {
        found.push_back("file " + entry.path().string());
    }

    // /proc/net/unix: "Num RefCount Protocol Flags Type St Inode Path"; the path is the
    // 8th field and absent for unnamed sockets.
    std::ifstream sockets("/proc/net/unix");
    std::string line;
    std::getline(sockets, line);
    const std::string& address = endpoint_.address;
    while (std::getline(sockets, line)) {
        std::istringstream fields(line);
        std::string field, path;
        for (int i = 0; i < 8 && fields >> field; ++i) path = i == 7 ? field : "";
        if (!path.empty() && (path == address || path.ends_with(":" + address))) {
            found.push_back("unix socket " + path);
        }
    }

    const std::string stem = stem_of(endpoint_);
    if (stem.empty()) return found;
    for (const auto& entry : fs::directory_iterator("/dev/shm")) {
        if (entry.path().filename().string().starts_with(stem + ".")) {
            found.push_back("shared-memory segment " + entry.path().string());
        }
    }

    std::vector<Owner> owners{Owner::self()};
    const auto& children = forked_children();
    owners.insert(owners.end(), children.begin() + static_cast<std::ptrdiff_t>(children_before_),
                  children.end());
    std::vector<pid_t> pids;
    for (const auto& owner : owners) pids.push_back(owner.pid);
    for (const auto& owner : owners) {
        for (unsigned n = 1; n <= max_queue_counter; ++n) {
            for (const char* direction : {".up", ".down"}) {
                std::string name = "/";
                name += owned_name(stem, owner, n) + direction;
                const mqd_t queue = ::mq_open(name.c_str(), O_RDONLY);
                if (queue != static_cast<mqd_t>(-1)) {
                    ::mq_close(queue);
                    found.push_back("POSIX message queue " + name);
                } else if (errno != ENOENT) {
                    found.push_back("POSIX message queue " + name + ": cannot tell (" +
                                    std::strerror(errno) + ")");
                }
            }
        }
    }

    const auto ours = [&](pid_t pid) {
        return pid == 0 || std::find(pids.begin(), pids.end(), pid) != pids.end();
    };
    for (const auto& queue : sysv_queues()) {
        if (sysv_before_.contains(queue.id)) continue;
        // A queue nobody has used yet names no process: under a parallel ctest it may
        // be another test's, just made. Ours are those some process of ours used (a link
        // that leaks leaks both its queues, and a test moves frames over one of them).
        const bool used = queue.last_sender != 0 || queue.last_receiver != 0;
        if (used && ours(queue.last_sender) && ours(queue.last_receiver)) {
            found.push_back("System V message queue " + std::to_string(queue.id));
        }
    }
    return found;
}

void Leftovers::check() const {
    std::vector<std::string> found;
    const bool clean = wait_until(
        [&] {
            found = find();
            return found.empty();
        },
        milliseconds(5000), milliseconds(5));
    std::string list;
    for (const auto& item : found) list += "\n  " + item;
    INFO("left behind:" << list);
    CHECK(clean);
}

}  // namespace courier::test
