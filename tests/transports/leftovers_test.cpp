// The leftover check of the conformance suite finds each kind of object it looks for, so
// a suite that passes it cannot pass by looking nowhere.

#include "leftovers.hpp"

#include <courier/transports/owner.hpp>

#include <fcntl.h>
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>

using namespace courier;
using namespace courier::test;

namespace {

/// Whether some line of find() contains `what`.
bool finds(const Leftovers& leftovers, const std::string& what) {
    for (const auto& line : leftovers.find()) {
        if (line.find(what) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("the leftover check finds what a test leaves, and nothing else",
          "[transport][leftovers]") {
    TempDir dir;
    const std::string name = unique_name("courier-test");
    const Endpoint endpoint{"posixmq", "/" + name};
    const Leftovers leftovers(dir, endpoint);
    CHECK(leftovers.find().empty());

    SECTION("a file in the test's directory") {
        const auto path = dir.path() / "fifo";
        REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
        CHECK(finds(leftovers, path.string()));
        ::unlink(path.c_str());
    }
    SECTION("a unix socket bound to a name derived from the endpoint") {
        Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        const std::string abstract = "courier-rendezvous.posixmq:" + endpoint.address;
        std::memcpy(address.sun_path + 1, abstract.data(), abstract.size());  // leading NUL
        const auto length =
            static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract.size());
        REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), length) == 0);
        CHECK(finds(leftovers, "@" + abstract));
    }
    SECTION("a shared-memory segment named after the endpoint") {
        const std::string segment = "/" + name + ".1.1";
        const int fd = ::shm_open(segment.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
        REQUIRE(fd >= 0);
        ::close(fd);
        CHECK(finds(leftovers, "/dev/shm" + segment));
        ::shm_unlink(segment.c_str());
    }
    SECTION("a POSIX queue named after the endpoint by this process") {
        std::string queue = "/";  // appended: GCC 12 misreads "/" + a string (-Wrestrict)
        queue += owned_name(name, Owner::self(), 7) + ".down";
        mq_attr attr{};
        attr.mq_maxmsg = 1;
        attr.mq_msgsize = 8;
        const mqd_t q = ::mq_open(queue.c_str(), O_CREAT | O_EXCL | O_RDONLY, 0600, &attr);
        REQUIRE(q != static_cast<mqd_t>(-1));
        ::mq_close(q);
        CHECK(finds(leftovers, queue));
        ::mq_unlink(queue.c_str());
    }
    SECTION("a System V queue made since the check began and used by this process") {
        const int id = ::msgget(IPC_PRIVATE, IPC_CREAT | 0600);
        REQUIRE(id >= 0);
        // Unused, it names no process: it could be a parallel test's, so it is not blamed.
        CHECK_FALSE(finds(leftovers, "System V message queue " + std::to_string(id)));
        struct {
            long type = 1;
            char text[1] = {'x'};
        } message;
        REQUIRE(::msgsnd(id, &message, sizeof message.text, IPC_NOWAIT) == 0);
        CHECK(finds(leftovers, "System V message queue " + std::to_string(id)));
        ::msgctl(id, IPC_RMID, nullptr);
    }
    CHECK(leftovers.find().empty());
}
