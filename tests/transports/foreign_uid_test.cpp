// Another user gets no link over the transports made of kernel objects (docs/security.md):
// their rendezvous is an abstract unix: socket, which no file mode guards, so the
// listener refuses a connector of another uid by SO_PEERCRED; and the objects of a link
// are the user's alone (owner-only modes). unix: itself is tested in unix_test.cpp.

#include "transport_fixtures.hpp"

#include <courier/transports/transport.hpp>

#include <grp.h>
#include <sys/msg.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace courier;
using namespace courier::test;

namespace {

constexpr uid_t nobody = 65534;

bool become_nobody() {
    return ::setgroups(0, nullptr) == 0 && ::setgid(nobody) == 0 && ::setuid(nobody) == 0;
}

/// The System V queues this user created, with their modes (/proc/sysvipc/msg).
std::vector<std::pair<int, unsigned>> own_sysv_queues() {
    std::ifstream table("/proc/sysvipc/msg");
    std::string line;
    std::getline(table, line);  // the header
    std::vector<std::pair<int, unsigned>> queues;
    while (std::getline(table, line)) {
        std::istringstream fields(line);
        long key = 0, bytes = 0, count = 0;
        int id = 0;
        unsigned perms = 0;
        pid_t last_sender = 0, last_receiver = 0;
        uid_t uid = 0;
        gid_t gid = 0;
        uid_t creator = 0;
        fields >> key >> id >> std::oct >> perms >> std::dec >> bytes >> count >> last_sender >>
            last_receiver >> uid >> gid >> creator;
        if (fields && creator == ::geteuid()) queues.emplace_back(id, perms & 0777);
    }
    return queues;
}

}  // namespace

TEST_CASE("a peer running as another user gets no link over fifo, posixmq, sysv or shm",
          "[transport][security][root]") {
    if (::geteuid() != 0) {
        WARN("skipped: needs root to run a peer as another uid (65534)");
        return;
    }
    for (const auto& fixture : transport_fixtures()) {
        const bool rendezvous = fixture.name == "fifo" || fixture.name == "posixmq" ||
                                fixture.name == "sysv" || fixture.name == "shm";
        if (!rendezvous) continue;
        DYNAMIC_SECTION(fixture.name) {
            TempDir dir;
            auto listener = TransportRegistry::builtin().listen(fixture.endpoint(dir));
            const Endpoint endpoint = listener->endpoint();
            Child stranger([&] {
                if (!become_nobody()) return 5;
                try {
                    (void)TransportRegistry::builtin().connect(endpoint);
                } catch (const std::exception&) {
                    return 0;  // refused: no setup frame came
                }
                return 1;
            });
            // The rendezvous accepts the connection and closes it: no link.
            REQUIRE(wait_readable(listener->poll_fd()));
            CHECK(listener->accept() == nullptr);
            CHECK(stranger.wait() == 0);

            // The user's own links still come, and a link's objects are the user's alone.
            std::unique_ptr<Link> client;
            std::thread connecting(
                [&] { client = TransportRegistry::builtin().connect(endpoint); });
            auto server = accept_one(*listener);
            connecting.join();
            REQUIRE(client);
            if (fixture.name == "sysv") {
                const auto queues = own_sysv_queues();
                REQUIRE_FALSE(queues.empty());
                // Owner-only: 0700, the mode that marks a queue as courier's (orphans.cpp).
                for (const auto& [id, mode] : queues) CHECK((mode & 077) == 0);
                Child intruder([&] {
                    if (!become_nobody()) return 5;
                    struct {
                        long type = 1;
                        char text[8] = "forged";
                    } message;
                    for (const auto& [id, mode] : queues) {
                        if (::msgsnd(id, &message, sizeof message.text, IPC_NOWAIT) == 0) return 1;
                        // Another test's queue may go meanwhile (ctest -j).
                        if (errno != EACCES && errno != EINVAL && errno != EIDRM) return 2;
                    }
                    return 0;
                });
                CHECK(intruder.wait() == 0);
            }
        }
    }
}
