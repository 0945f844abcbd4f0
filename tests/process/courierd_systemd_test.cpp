// courierd under systemd: serving the listening socket a socket unit passes it (handed
// over here exactly as systemd does, and by systemd-socket-activate), saying READY=1 and
// STOPPING=1 on NOTIFY_SOCKET, and leaving the socket file to whoever made it.

#include "node_support.hpp"
#include "process_support.hpp"
#include "registry/registry_client.hpp"

#include <courier/courier.hpp>
#include <courier/fd.hpp>
#include <courier/framework/runtime_dir.hpp>

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

namespace {

using namespace courier;
using namespace courier::test;
namespace fs = std::filesystem;

sockaddr_un unix_address(const fs::path& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(path.string().size() < sizeof address.sun_path);
    std::strcpy(address.sun_path, path.c_str());
    return address;
}

/// A unix socket of `type` bound at `path`, and listening if a stream: as a socket unit's
/// ListenStream= (or ListenDatagram=) makes it.
Fd listening_socket(const fs::path& path, int type = SOCK_STREAM) {
    Fd socket(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
    REQUIRE(socket);
    const auto address = unix_address(path);
    REQUIRE(::bind(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    if (type == SOCK_STREAM) REQUIRE(::listen(socket.get(), 16) == 0);
    return socket;
}

bool is_socket_file(const fs::path& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

bool exited_cleanly(std::optional<int> status) {
    return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

RegistryOptions no_autostart(const TempRuntimeDir& dir) {
    auto options = dir.options();
    options.autostart = false;  // only the courierd on the test's socket may answer
    return options;
}

}  // namespace

TEST_CASE(
    "courierd serves the listening socket systemd passes it, says READY=1 and leaves the "
    "socket file to its creator",
    "[registry][systemd]") {
    TempRuntimeDir dir;
    const fs::path socket_path = registry_socket_path(dir.path());
    {
        Fd listening = listening_socket(socket_path);
        NotifySocket notify(dir.path() / "notify.sock");
        auto courierd = Program::start({(bin_dir() / "courierd").string(), "--foreground",
                                        "--runtime-dir", dir.path().string(), "--idle-exit", "0"},
                                       {notify.environment(), "LISTEN_FDNAMES=courierd.socket"},
                                       listening.get());
        CHECK(notify.next() == "READY=1");
        {
            // Real clients, through the socket the test made, never a socket of courierd's.
            RegistryClient holder(no_autostart(dir));
            REQUIRE(holder.register_node("activated-node", {}).ok);
            REQUIRE(holder.register_name("activated-name").ok);
            RegistryClient asker(no_autostart(dir));
            auto where = asker.lookup("activated-name");
            CHECK(where.found);
            CHECK(where.node == "activated-node");
            CHECK(where.pid == ::getpid());
        }
        CHECK(courierd_pids(dir.path()) == std::vector<pid_t>{courierd.pid()});
        courierd.kill(SIGTERM);
        CHECK(notify.next() == "STOPPING=1");
        CHECK(exited_cleanly(courierd.wait_exit()));

        // The file is still the test's, and the socket still takes connections for the
        // next courierd systemd would start.
        CHECK(is_socket_file(socket_path));
        Fd knock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        const auto address = unix_address(socket_path);
        CHECK(::connect(knock.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) ==
              0);
    }
    CHECK(::unlink(socket_path.c_str()) == 0);
    CHECK(dir.is_empty());
}

TEST_CASE("courierd refuses a socket from systemd that it cannot serve nodes on",
          "[registry][systemd]") {
    TempRuntimeDir dir;
    // A stream socket where no node looks, or a datagram socket where they do.
    const bool misplaced = GENERATE(true, false);
    const fs::path path =
        misplaced ? dir.path() / "elsewhere.sock" : registry_socket_path(dir.path());
    {
        Fd passed = listening_socket(path, misplaced ? SOCK_STREAM : SOCK_DGRAM);
        auto courierd = Program::start({(bin_dir() / "courierd").string(), "--foreground",
                                        "--runtime-dir", dir.path().string(), "--idle-exit", "0"},
                                       {}, passed.get());
        const auto status = courierd.wait_exit();
        REQUIRE(status);
        CHECK(WIFEXITED(*status));
        CHECK(WEXITSTATUS(*status) == 1);
    }
    CHECK(::unlink(path.c_str()) == 0);  // still there: courierd removes no socket it was given
    CHECK(dir.is_empty());               // nor did it lock, or bind its own
}

TEST_CASE("a node registers through courierd started by systemd-socket-activate",
          "[registry][systemd]") {
    const fs::path activate = "/usr/bin/systemd-socket-activate";
    if (::access(activate.c_str(), X_OK) != 0) {
        WARN("skipped: " << activate.string() << " is not installed (package systemd)");
        return;
    }
    TempRuntimeDir dir;
    const fs::path socket_path = registry_socket_path(dir.path());
    {
        // It binds the socket, and execs courierd (same pid) at the first connection.
        auto courierd = Program::start({activate.string(), "-l", socket_path.string(),
                                        (bin_dir() / "courierd").string(), "--foreground",
                                        "--runtime-dir", dir.path().string(), "--idle-exit", "0"});
        REQUIRE(eventually([&] { return is_socket_file(socket_path); }));
        {
            auto options = node_options(dir, "socket-activated-node");
            options.registry.autostart = false;
            Node node(options);
            node.spawn("socket-activated-echo", echo);
            RegistryClient asker(no_autostart(dir));
            auto where = asker.lookup("socket-activated-echo", 5s);
            CHECK(where.found);
            CHECK(where.node == "socket-activated-node");
        }
        CHECK(courierd_pids(dir.path()) == std::vector<pid_t>{courierd.pid()});
        courierd.kill(SIGTERM);
        CHECK(exited_cleanly(courierd.wait_exit()));
        CHECK(is_socket_file(socket_path));  // systemd-socket-activate's, not courierd's
    }
    CHECK(::unlink(socket_path.c_str()) == 0);
    CHECK(dir.is_empty());
}
