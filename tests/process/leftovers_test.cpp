// Nothing left behind: both ends of a link killed with SIGKILL, 20 times on each
// transport, leave no queue, segment, FIFO or socket file — courierd removes what they
// left, no `courier clean` needed. And `courier clean` lists (--dry-run) and removes
// orphans made on purpose, sparing a live process's objects and other programs' queues.

#include "process_support.hpp"

#include <courier/courier.hpp>
#include <courier/transports/owner.hpp>
#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace leftovers_wire {
struct Echo {
    std::int64_t n = 0;
    template <class A>
    void serialize(A& a) {
        a(n);
    }
};
}  // namespace leftovers_wire

COURIER_MESSAGE(leftovers_wire::Echo, "test.process.leftovers.Echo");

namespace {

using namespace courier;
using namespace courier::test;
namespace fs = std::filesystem;

constexpr int rounds = 20;

/// The System V queues that name one of `pids` as their last sender or receiver.
std::vector<std::string> sysv_queues_of(const std::vector<pid_t>& pids) {
    std::vector<std::string> found;
    std::ifstream table("/proc/sysvipc/msg");
    std::string line;
    std::getline(table, line);
    while (std::getline(table, line)) {
        std::istringstream fields(line);
        long long key = 0, perms = 0, cbytes = 0, qnum = 0;
        int id = 0;
        pid_t sender = 0, receiver = 0;
        if (!(fields >> key >> id >> perms >> cbytes >> qnum >> sender >> receiver)) continue;
        const auto ours = [&](pid_t pid) {
            return std::find(pids.begin(), pids.end(), pid) != pids.end();
        };
        if (ours(sender) || ours(receiver)) found.push_back("System V queue " + std::to_string(id));
    }
    return found;
}

/// What processes `killed` (nodes named `nodes`) may have left, looked for where each
/// transport puts things, without the code under test.
std::vector<std::string> left_by(const std::vector<Owner>& killed,
                                 const std::vector<std::string>& nodes, const fs::path& dir) {
    std::vector<std::string> found;
    std::vector<pid_t> pids;
    for (const auto& owner : killed) pids.push_back(owner.pid);
    for (std::size_t i = 0; i < killed.size(); ++i) {
        const std::string tag = EndpointHint{nodes[i], killed[i].pid, dir}.tag();
        for (const auto& entry : fs::directory_iterator("/dev/shm")) {
            const std::string name = entry.path().filename();
            if (name.starts_with(tag + ".") ||
                name.find("." + killed[i].tag() + ".") != std::string::npos)
                found.push_back("segment " + entry.path().string());
        }
        for (const auto& entry : fs::directory_iterator(dir)) {
            if (entry.path().filename().string().starts_with(tag))
                found.push_back("file " + entry.path().string());
        }
        for (unsigned n = 1; n <= 50; ++n) {
            for (const char* direction : {".up", ".down"}) {
                std::string name = "/";
                name += owned_name(tag, killed[i], n) + direction;
                const mqd_t queue = ::mq_open(name.c_str(), O_RDONLY);
                if (queue == static_cast<mqd_t>(-1)) continue;
                ::mq_close(queue);
                found.push_back("POSIX queue " + name);
            }
        }
    }
    const auto sysv = sysv_queues_of(pids);
    found.insert(found.end(), sysv.begin(), sysv.end());
    return found;
}

/// A pid nobody runs under: a child that exited and was reaped.
pid_t dead_pid() {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    ::waitpid(pid, nullptr, 0);
    return pid;
}

/// A System V queue as courier makes them (private, 0700) or not (`mode`), last used by a
/// child that has exited: an orphan if courier's.
int queue_used_by_dead_child(int mode) {
    const int id = ::msgget(IPC_PRIVATE, IPC_CREAT | mode);
    const pid_t pid = ::fork();
    if (pid == 0) {
        long stamp = 258;
        ::msgsnd(id, &stamp, 0, IPC_NOWAIT);
        ::msgrcv(id, &stamp, 0, 258, IPC_NOWAIT);
        ::_exit(0);
    }
    ::waitpid(pid, nullptr, 0);
    return id;
}

bool queue_exists(int id) {
    msqid_ds info{};
    return ::msgctl(id, IPC_STAT, &info) == 0;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("both ends of a link killed with SIGKILL, 20 times, leave nothing behind",
          "[process][leftovers]") {
    const std::string transport =
        GENERATE(as<std::string>{}, "unix", "tcp", "fifo", "shm", "sysv", "posixmq");
    INFO("transport " << transport);
    const std::string toml = "[links]\npreference = [\"" + transport + "\"]\n";
    TempRuntimeDir dir;
    std::vector<Owner> killed;
    std::vector<std::string> nodes;
    for (int round = 0; round < rounds; ++round) {
        const std::string n = std::to_string(round);
        auto echo = Child::fork([&](ChildChannel& channel) {
            Node node(configured(dir, "echo-node-" + n, toml));
            node.spawn("echo-" + n, [](Actor& self) {
                self.handle([&self](leftovers_wire::Echo& e) { self.reply(e); });
            });
            channel.send('r');
            while (channel.receive() != 0) {
            }
            return 0;
        });
        REQUIRE(echo.expect('r', 20s));
        auto asker = Child::fork([&](ChildChannel& channel) {
            Node node(configured(dir, "asker-node-" + n, toml));
            // Traffic until killed: the first answer says the link is up.
            for (std::int64_t i = 0;; ++i) {
                auto answer = node.request<leftovers_wire::Echo>(
                    "echo-" + n, leftovers_wire::Echo{i}, std::chrono::seconds(10));
                if (!answer) return 1;
                if (i == 0) channel.send('l');
            }
        });
        REQUIRE(asker.expect('l', 20s));
        for (auto* child : {&echo, &asker}) {
            auto owner = Owner::of(child->pid());
            REQUIRE(owner);
            killed.push_back(*owner);
        }
        nodes.push_back("echo-node-" + n);
        nodes.push_back("asker-node-" + n);
        echo.kill(SIGKILL);
        asker.kill(SIGKILL);
        REQUIRE(echo.wait_exit());
        REQUIRE(asker.wait_exit());
    }
    // courierd removes what they left as it learns of each death: no courier clean.
    std::vector<std::string> left;
    const bool clean = eventually(
        [&] {
            left = left_by(killed, nodes, dir.path());
            return left.empty();
        },
        10s);
    std::string list;
    for (const auto& item : left) list += "\n  " + item;
    INFO("left behind:" << list);
    CHECK(clean);
    CHECK(dir.wait_until_empty(10s));
}

TEST_CASE("courier clean removes what dead processes left, and only that", "[process][leftovers]") {
    TempRuntimeDir dir;
    const std::string cli = (bin_dir() / "courier").string();
    const std::string base = "courier-clean-test-" + std::to_string(::getpid());
    const Owner dead{dead_pid(), 1};
    const auto shm_name = [](const std::string& segment) {
        std::string name = "/";  // appended: GCC 12 misreads "/" + a string (-Wrestrict)
        return name += segment;
    };

    // Orphans: a segment, a FIFO and a queue whose owners are gone. Not orphans: a live
    // process's (ours), and a queue that is not courier's.
    const std::string dead_segment = owned_name(base, dead, 1);
    const fs::path dead_fifo = dir.path() / (owned_name(base, dead, 2) + ".up");
    const std::string live_segment = owned_name(base, Owner::self(), 3);
    const fs::path live_fifo = dir.path() / (owned_name(base, Owner::self(), 4) + ".up");
    const int foreign_queue = queue_used_by_dead_child(0600);
    REQUIRE(queue_exists(foreign_queue));
    {
        const int fd = ::shm_open(shm_name(live_segment).c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
        REQUIRE(fd >= 0);
        ::close(fd);
    }
    REQUIRE(::mkfifo(live_fifo.c_str(), 0600) == 0);
    int dead_queue = -1;
    // What this test made goes whatever happens below (a failed REQUIRE included).
    struct Planted {
        std::function<void()> remove;
        ~Planted() { remove(); }
    } planted{[&] {
        ::shm_unlink(shm_name(live_segment).c_str());
        ::unlink(live_fifo.c_str());
        ::msgctl(foreign_queue, IPC_RMID, nullptr);
        ::shm_unlink(shm_name(dead_segment).c_str());
        if (dead_queue >= 0) ::msgctl(dead_queue, IPC_RMID, nullptr);
    }};
    const auto spared = [&] {
        return fs::exists("/dev/shm/" + live_segment) && fs::exists(live_fifo) &&
               queue_exists(foreign_queue);
    };

    // Any courierd removes every orphan of the user when one of its nodes dies, and under
    // a parallel ctest other tests' nodes die all the time: a --dry-run during which one
    // took a segment or a queue of ours proves nothing, and is made again. The FIFO is in
    // our runtime directory, where only we look: what `courier clean` did shows there.
    CommandResult ps, dry;
    bool listed = false;
    // A minute of attempts: a sanitized build's parallel tests kill many nodes at once.
    for (const auto until = std::chrono::steady_clock::now() + 60s;
         !listed && std::chrono::steady_clock::now() < until;) {
        const int fd = ::shm_open(shm_name(dead_segment).c_str(), O_CREAT | O_RDWR, 0600);
        REQUIRE(fd >= 0);
        ::close(fd);
        REQUIRE((::mkfifo(dead_fifo.c_str(), 0600) == 0 || errno == EEXIST));
        if (dead_queue >= 0) ::msgctl(dead_queue, IPC_RMID, nullptr);
        dead_queue = queue_used_by_dead_child(0700);
        if (!queue_exists(dead_queue)) continue;  // another test's courierd took it already
        ps = run_command({cli, "ps", "--runtime-dir", dir.path().string()});
        dry = run_command({cli, "clean", "--dry-run", "--runtime-dir", dir.path().string()});
        listed =
            fs::exists("/dev/shm/" + dead_segment) && queue_exists(dead_queue) &&
            contains(dry.out, "would remove shared-memory segment /dev/shm/" + dead_segment) &&
            contains(dry.out, "would remove System V message queue " + std::to_string(dead_queue));
    }
    INFO(dry.out);
    REQUIRE(listed);  // and still there: --dry-run removed nothing
    CHECK(ps.exit_code == 0);
    CHECK(contains(ps.out, "left by dead processes: run courier clean"));
    CHECK(dry.exit_code == 0);
    CHECK(contains(dry.out, "would remove FIFO " + dead_fifo.string()));
    CHECK(fs::exists(dead_fifo));
    CHECK_FALSE(contains(dry.out, live_segment));
    CHECK_FALSE(contains(dry.out, live_fifo.string()));
    CHECK_FALSE(contains(dry.out, "queue " + std::to_string(foreign_queue) + " "));

    auto cleaned = run_command({cli, "clean", "--runtime-dir", dir.path().string()});
    INFO(cleaned.out);
    CHECK(contains(cleaned.out, "removed FIFO " + dead_fifo.string()));
    CHECK_FALSE(fs::exists("/dev/shm/" + dead_segment));
    CHECK_FALSE(fs::exists(dead_fifo));
    CHECK_FALSE(queue_exists(dead_queue));
    CHECK(spared());
}
