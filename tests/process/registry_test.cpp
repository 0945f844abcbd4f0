// The per-host registry with real processes: courierd started on demand, nodes in forked
// children, the `courier` CLI run as a program. Every test has its own runtime directory
// and ends by waiting for courierd to exit on idle, leaving the directory empty.

#include "process_support.hpp"
#include "registry/name_table.hpp"
#include "registry/registry_client.hpp"

#include <courier/framework/runtime_dir.hpp>
#include <courier/serialization/codec.hpp>
#include <courier/transports/transport.hpp>

#include <catch2/catch.hpp>

#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

namespace {

using namespace courier;
using namespace courier::test;
namespace fs = std::filesystem;

std::string courier_cli() {
    return (bin_dir() / "courier").string();
}

CommandResult courier_ps(const TempRuntimeDir& dir) {
    return run_command({courier_cli(), "ps", "--runtime-dir", dir.path().string()});
}

/// A child that registers `node` with `names` on the registry of `dir`, writes 'r', and
/// stays until the parent writes 'q' (or goes away).
Child spawn_node(const TempRuntimeDir& dir, std::string node, std::vector<std::string> names,
                 std::vector<std::string> endpoints = {}) {
    auto options = dir.options();
    return Child::fork([=](ChildChannel& channel) {
        RegistryClient client(options);
        if (!client.register_node(node, endpoints).ok) return 3;
        for (const auto& name : names)
            if (!client.register_name(name).ok) return 4;
        channel.send('r');
        while (char c = channel.receive())
            if (c == 'q') break;
        return 0;
    });
}

bool exited_cleanly(std::optional<int> status) {
    return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

}  // namespace

TEST_CASE("a process of another user cannot reach courierd: its socket is the user's alone",
          "[registry][security][root]") {
    if (::geteuid() != 0) {
        WARN("skipped: needs root to run a client as another uid (65534)");
        return;
    }
    TempRuntimeDir dir;
    // Forked before this process has threads (the clients' readers).
    auto stranger = Child::fork([&dir](ChildChannel& channel) {
        if (channel.receive() != 'g') return 1;
        constexpr uid_t nobody = 65534;
        if (::setgroups(0, nullptr) != 0 || ::setgid(nobody) != 0 || ::setuid(nobody) != 0)
            return 2;
        auto options = dir.options();
        options.autostart = false;  // it could not start one here anyway: not its directory
        try {
            RegistryClient client(options);
            channel.send('n');
        } catch (const RegistryError& e) {
            channel.send(
                std::string(e.what()).find("Permission denied") != std::string::npos ? 'y' : 'e');
        }
        return 0;
    });
    {
        RegistryClient owner(dir.options());
        REQUIRE(owner.register_node("owner-node", {}).ok);
        // The directory open to all (0711) still leaves the socket's own mode (0600).
        REQUIRE(::chmod(dir.path().c_str(), 0711) == 0);
        stranger.send('g');
        CHECK(stranger.expect('y', 10s));
        REQUIRE(::chmod(dir.path().c_str(), 0700) == 0);
        CHECK(owner.list_nodes().nodes.size() == 1);
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("a client starts courierd when none runs, on an owner-only socket",
          "[registry][autostart]") {
    TempRuntimeDir dir;
    const auto socket = registry_socket_path(dir.path());
    REQUIRE_FALSE(fs::exists(socket));
    {
        // No node registers here: courierd counts that as idle. 2 s, not the tests' usual
        // 200 ms, so that it still serves while a slow run (ASan, under load) checks it.
        RegistryClient client(dir.options(2s));
        CHECK(client.runtime_dir() == dir.path());
        REQUIRE(fs::is_socket(socket));
        struct stat st {};
        REQUIRE(::lstat(socket.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);
        CHECK(fs::exists(registry_lock_path(dir.path())));
        // A spare the client started under load gives way at once.
        CHECK(eventually([&] { return courierd_pids(dir.path()).size() == 1; }));
        CHECK(courierd_pids(dir.path()) == std::vector<pid_t>{serving_courierd(dir.path())});
        CHECK(client.list_nodes().nodes.empty());
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("without autostart, a client finds no registry and starts none",
          "[registry][autostart]") {
    TempRuntimeDir dir;
    auto options = dir.options();
    options.autostart = false;
    CHECK_THROWS_AS(RegistryClient(options), RegistryNotRunning);
    CHECK(dir.is_empty());
}

TEST_CASE("clients racing to start courierd end up sharing one", "[registry][autostart]") {
    TempRuntimeDir dir;
    constexpr int racers = 4;
    auto options = dir.options();
    std::vector<Child> children;
    for (int i = 0; i < racers; ++i) {
        children.push_back(Child::fork([=](ChildChannel& channel) {
            if (channel.receive() != 'g') return 2;
            RegistryClient client(options);
            if (!client.register_node("racer-" + std::to_string(i), {}).ok) return 3;
            channel.send('r');
            while (char c = channel.receive())
                if (c == 'q') break;
            return 0;
        }));
    }
    for (auto& child : children) child.send('g');
    for (auto& child : children) REQUIRE(child.expect('r'));
    {
        RegistryClient client(options);
        CHECK(client.list_nodes().nodes.size() == racers);
    }
    // The losers of the race exit at once; one courierd serves.
    CHECK(eventually([&] { return courierd_pids(dir.path()).size() == 1; }));
    for (auto& child : children) child.send('q');
    for (auto& child : children) CHECK(exited_cleanly(child.wait_exit()));
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("a node or actor name held by another process is refused with a clear error",
          "[registry][names]") {
    TempRuntimeDir dir;
    auto holder = spawn_node(dir, "holder", {"service"}, {"unix:/tmp/holder.sock"});
    REQUIRE(holder.expect('r'));
    const std::string pid = std::to_string(holder.pid());
    {
        RegistryClient client(dir.options());
        auto same_node = client.register_node("holder", {});
        CHECK_FALSE(same_node.ok);
        CHECK(same_node.error == "node name 'holder' is already registered by pid " + pid);

        CHECK_FALSE(client.register_name("early").ok);  // no node on this connection yet
        REQUIRE(client.register_node("other", {}).ok);
        auto taken = client.register_name("service");
        CHECK_FALSE(taken.ok);
        CHECK(taken.error ==
              "name 'service' is already registered by node 'holder' (pid " + pid + ")");

        auto where = client.lookup("service");
        CHECK(where.found);
        CHECK(where.node == "holder");
        CHECK(where.pid == holder.pid());
        CHECK(where.endpoints == std::vector<std::string>{"unix:/tmp/holder.sock"});

        holder.send('q');
        CHECK(exited_cleanly(holder.wait_exit()));
        // Once the holder is gone, the name is free.
        CHECK(eventually([&] { return client.register_name("service").ok; }));
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("looking up an unknown name answers not found", "[registry][lookup]") {
    TempRuntimeDir dir;
    {
        RegistryClient client(dir.options());
        auto where = client.lookup("nobody");
        CHECK_FALSE(where.found);
        CHECK(where.name == "nobody");

        auto start = std::chrono::steady_clock::now();
        auto waited = client.lookup("nobody", 150ms);
        CHECK_FALSE(waited.found);
        CHECK(std::chrono::steady_clock::now() - start >= 150ms);
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("a lookup that waits is answered when another process registers the name",
          "[registry][lookup]") {
    TempRuntimeDir dir;
    auto options = dir.options();
    auto late = Child::fork([=](ChildChannel& channel) {
        RegistryClient client(options);
        if (!client.register_node("late", {"unix:/tmp/late.sock"}).ok) return 3;
        channel.send('n');
        if (channel.receive() != 'g') return 2;
        // Let the parent's lookup reach courierd and wait there first.
        std::this_thread::sleep_for(200ms);
        if (!client.register_name("late-service").ok) return 4;
        while (char c = channel.receive())
            if (c == 'q') break;
        return 0;
    });
    REQUIRE(late.expect('n'));
    {
        RegistryClient client(options);
        auto start = std::chrono::steady_clock::now();
        late.send('g');
        auto where = client.lookup("late-service", 5s);
        auto took = std::chrono::steady_clock::now() - start;
        CHECK(where.found);
        CHECK(where.node == "late");
        CHECK(where.pid == late.pid());
        CHECK(took >= 200ms);
        CHECK(took < 5s);
    }
    late.send('q');
    CHECK(exited_cleanly(late.wait_exit()));
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("a lookup that finds nothing is followed by one NameUp when the name is registered",
          "[registry][lookup]") {
    TempRuntimeDir dir;
    {
        RegistryClient asker(dir.options());
        Mailbag<registry::NameUp> ups;
        asker.on_name_up([&ups](const registry::NameUp& up) { ups.put(up); });
        auto where = asker.lookup("svc");
        REQUIRE_FALSE(where.found);
        CHECK(where.notify_up);
        CHECK_FALSE(asker.lookup("not a valid name").notify_up);  // it can never come up

        RegistryClient owner(dir.options());
        REQUIRE(owner.register_node("owner", {}).ok);
        REQUIRE(owner.register_name("svc").ok);
        // courierd sent the NameUp before it answered the registration, and answers the
        // asker's next request after it: by then the reader thread has handed it over.
        asker.list_nodes();
        auto up = ups.take(0ms);
        REQUIRE(up);
        CHECK(up->name == "svc");
        CHECK(up->node == "owner");
        CHECK(up->pid == ::getpid());

        // Once: the name coming up again tells nobody who did not look it up again.
        REQUIRE(owner.unregister_name("svc").ok);
        REQUIRE(owner.register_name("svc").ok);
        asker.list_nodes();
        CHECK_FALSE(ups.take(0ms));
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("a connection awaits a bounded number of names", "[registry][lookup]") {
    TempRuntimeDir dir;
    {
        RegistryClient asker(dir.options());
        constexpr std::size_t most = registry::NameTable::max_awaiting_up;
        for (std::size_t i = 0; i < most; ++i)
            REQUIRE(asker.lookup("unknown-" + std::to_string(i)).notify_up);
        // Full: another name is answered, with no promise.
        auto over = asker.lookup("one-too-many");
        CHECK_FALSE(over.found);
        CHECK_FALSE(over.notify_up);
        CHECK(asker.lookup("unknown-7").notify_up);  // awaited already

        // A name that comes up makes room for one more.
        RegistryClient owner(dir.options());
        REQUIRE(owner.register_node("owner", {}).ok);
        REQUIRE(owner.register_name("unknown-7").ok);
        CHECK(asker.lookup("one-too-many").notify_up);
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("a watcher is told when a name is unregistered, or at once if it is not registered",
          "[registry][watch]") {
    TempRuntimeDir dir;
    {
        RegistryClient owner(dir.options());
        REQUIRE(owner.register_node("owner", {}).ok);
        REQUIRE(owner.register_name("job").ok);

        RegistryClient watcher(dir.options());
        NameDownBox downs;
        watcher.on_name_down(downs.handler());
        const auto watched = watcher.watch("job");
        REQUIRE(watched.found);
        CHECK(watched.node == "owner");
        CHECK(watched.pid == ::getpid());
        CHECK(watched.incarnation != 0);
        CHECK(watcher.lookup("job").incarnation == watched.incarnation);
        CHECK_FALSE(downs.wait_for("job", 50ms));

        REQUIRE(owner.unregister_name("job").ok);
        auto down = downs.wait_for("job");
        REQUIRE(down);
        CHECK(down->reason == "unregistered");
        CHECK(down->node == "owner");
        CHECK(down->pid == ::getpid());
        CHECK(down->incarnation == watched.incarnation);
        CHECK_FALSE(watcher.lookup("job").found);
        CHECK_FALSE(owner.unregister_name("job").ok);

        // Registered again, the name is another incarnation.
        REQUIRE(owner.register_name("job").ok);
        CHECK(watcher.lookup("job").incarnation > watched.incarnation);

        CHECK_FALSE(watcher.watch("ghost").found);
        auto ghost = downs.wait_for("ghost");
        REQUIRE(ghost);
        CHECK(ghost->reason == "not registered");
        CHECK(ghost->incarnation == 0);
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("a node killed with SIGKILL is gone: watchers get NameDown, courier ps drops it",
          "[registry][liveness]") {
    TempRuntimeDir dir;
    auto victim = spawn_node(dir, "victim", {"victim-actor"}, {"unix:/tmp/victim.sock"});
    REQUIRE(victim.expect('r'));

    auto before = courier_ps(dir);
    CHECK(before.exit_code == 0);
    CHECK(before.out.find("victim") != std::string::npos);
    CHECK(before.out.find("victim-actor") != std::string::npos);
    CHECK(before.out.find("unix:/tmp/victim.sock") != std::string::npos);
    CHECK(before.out.find(std::to_string(victim.pid())) != std::string::npos);
    {
        RegistryClient client(dir.options());
        // A node of its own keeps courierd up for the `courier ps` below, however slow
        // that starts (a sanitized build): with none, it would exit after idle_exit.
        REQUIRE(client.register_node("witness", {}).ok);
        NameDownBox downs;
        client.on_name_down(downs.handler());
        const auto watched = client.watch("victim-actor");
        REQUIRE(watched.found);

        victim.kill(SIGKILL);
        auto status = victim.wait_exit();
        REQUIRE(status);
        CHECK(WIFSIGNALED(*status));

        auto down = downs.wait_for("victim-actor");
        REQUIRE(down);
        CHECK(down->reason == "node exited");
        CHECK(down->node == "victim");
        CHECK(down->pid == victim.pid());
        CHECK(down->incarnation == watched.incarnation);
        CHECK_FALSE(client.lookup("victim-actor").found);

        auto after = courier_ps(dir);
        CHECK(after.exit_code == 0);
        CHECK(after.out.find("victim") == std::string::npos);
        CHECK(after.out.find("witness") != std::string::npos);
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE(
    "courierd stays up while a node is connected, then exits on idle removing socket and lock",
    "[registry][lifecycle]") {
    TempRuntimeDir dir;
    const auto socket = registry_socket_path(dir.path());
    {
        RegistryClient node(dir.options(200ms));
        REQUIRE(node.register_node("keeper", {}).ok);
        // Several idle periods pass with the node connected: courierd must stay.
        std::this_thread::sleep_for(700ms);
        CHECK(node.list_nodes().nodes.size() == 1);
        CHECK(fs::is_socket(socket));
    }
    REQUIRE(dir.wait_until_empty());
    CHECK(eventually([&] { return courierd_pids(dir.path()).empty(); }));
}

TEST_CASE("a connection that is not a node does not keep courierd up", "[registry][lifecycle]") {
    TempRuntimeDir dir;
    RegistryClient client(dir.options(200ms));
    std::mutex mutex;
    std::condition_variable told;
    std::optional<std::string> reason;
    client.on_disconnect([&](const std::string& why) {
        std::lock_guard lock(mutex);
        reason = why;
        told.notify_all();
    });
    {
        std::unique_lock lock(mutex);
        REQUIRE(told.wait_for(lock, 5s, [&] { return reason.has_value(); }));
    }
    CHECK_THROWS_AS(client.list_nodes(), RegistryError);
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("a client whose courierd exited before it registered connects again to register",
          "[registry][lifecycle]") {
    // A node connects, then registers: a courierd exiting on idle in between (the
    // connection kept nothing up) must not fail the node's start.
    TempRuntimeDir dir;
    RegistryClient client(dir.options(200ms));
    std::mutex mutex;
    std::condition_variable told;
    bool lost = false;
    client.on_disconnect([&](const std::string&) {
        std::lock_guard lock(mutex);
        lost = true;
        told.notify_all();
    });
    {
        std::unique_lock lock(mutex);
        REQUIRE(told.wait_for(lock, 5s, [&] { return lost; }));
    }
    const auto status = client.register_node("late", {});
    CHECK(status.ok);
    const auto nodes = client.list_nodes().nodes;  // a courierd that knows it
    REQUIRE(nodes.size() == 1);
    CHECK(nodes[0].node == "late");
    CHECK(client.register_name("late-name").ok);
}

TEST_CASE("a stale socket file of a dead courierd is replaced", "[registry][lifecycle]") {
    TempRuntimeDir dir;
    const auto socket = registry_socket_path(dir.path());
    {
        // A bound socket whose process is gone: the file stays, nothing listens.
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
        REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
        ::close(fd);
        REQUIRE(fs::is_socket(socket));
    }
    {
        RegistryClient client(dir.options());
        REQUIRE(client.register_node("fresh", {}).ok);
        CHECK(client.list_nodes().nodes.size() == 1);
    }
    REQUIRE(dir.wait_until_empty());
}

TEST_CASE("courier ps without a registry says so, exits 0 and starts none", "[registry][cli]") {
    TempRuntimeDir dir;
    auto result = courier_ps(dir);
    CHECK(result.exit_code == 0);
    CHECK(result.out == "no courier registry is running in " + dir.path().string() + "\n");
    CHECK(courierd_pids(dir.path()).empty());
    CHECK(dir.is_empty());
}
