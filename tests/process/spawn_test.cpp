// Node::spawn_process and ChildProcess: a child linked to its parent over pipe (neither
// listening on anything), over a transport the child links by the registry instead, a
// child killed with SIGKILL, a program that cannot start, and the handle's cleanup.
// The child is courier-test-spawned-node (spawned_node.cpp).

#include "spawn_messages.hpp"
#include "spawned_node_support.hpp"

#include <courier/courier.hpp>

#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <system_error>

namespace {

using namespace courier;
using namespace courier::test;

void collect_reports(Node& node, Mailbag<spawn_wire::Report>& reports) {
    node.spawn("inbox", [&reports](Actor& self) {
        self.handle<spawn_wire::Report>(
            [&reports](spawn_wire::Report& report) { reports.put(report); });
    });
}

const LinkInfo* link_to(const std::vector<LinkInfo>& links, const std::string& node) {
    for (const auto& link : links)
        if (link.peer_node == node) return &link;
    return nullptr;
}

/// No process with this pid is left to reap: not running, not a zombie of ours.
bool reaped(pid_t pid) {
    return ::waitpid(pid, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

std::size_t open_fd_count() {
    std::size_t count = 0;
    DIR* dir = ::opendir("/proc/self/fd");
    while (dir != nullptr && ::readdir(dir) != nullptr) ++count;
    if (dir != nullptr) ::closedir(dir);
    return count;
}

}  // namespace

TEST_CASE(
    "a child spawned over pipe and its parent reach each other's actors, listening on "
    "nothing",
    "[process][spawn][pipe]") {
    TempRuntimeDir dir;
    {
        Node parent(parent_options(dir, "[links]\npreference = [\"pipe\"]\n"));
        CHECK(parent.endpoints().empty());
        Mailbag<spawn_wire::Report> reports;
        collect_reports(parent, reports);
        ChildProcess child = parent.spawn_process(kid(dir, "pipe"));
        REQUIRE(child);

        // Child to parent: its Report reached "inbox" over the link it inherited.
        auto report = reports.take();
        REQUIRE(report);
        CHECK(report->parent_transport == "pipe");
        CHECK(report->parent_reason == "inherited");
        CHECK(report->endpoints.empty());
        // Nothing but stdio and the link's two ends was inherited, and those two are
        // close-on-exec once adopted.
        CHECK(report->fds_at_start == std::vector<int>{0, 1, 2, 3, 4});
        CHECK(report->inherited_cloexec);

        // Parent to child.
        auto pong = parent.request<spawn_wire::Pong>("echo", spawn_wire::Ping{41}, 10s);
        REQUIRE(pong.has_value());
        CHECK(pong->n == 42);
        auto links = parent.links();
        REQUIRE(links.size() == 1);
        CHECK(links[0].peer_node == "kid-node");
        CHECK(links[0].transport == "pipe");
        CHECK(links[0].reason == "default");
        CHECK(links[0].initiated);

        parent.send("echo", spawn_wire::Quit{7});
        auto status = child.wait();
        CHECK(status.code == 7);
        CHECK(status.signal == 0);
        CHECK(status.describe() == "exited with code 7");
        CHECK(eventually([&] { return parent.links().empty(); }));
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("a spawned child inherits the application's descriptors first, then its link",
          "[process][spawn][pipe]") {
    TempRuntimeDir dir;
    {
        Node parent(parent_options(dir, "[links]\npreference = [\"pipe\"]\n"));
        Mailbag<spawn_wire::Report> reports;
        collect_reports(parent, reports);
        int ends[2];
        REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
        Fd read_end(ends[0]), write_end(ends[1]);
        ProcessOptions options = kid(dir, "pipe");
        options.inherit = {write_end.get()};
        ChildProcess child = parent.spawn_process(options);
        REQUIRE(child);
        // The link still works: the child's Report came over the pipe it took at 4 and 5.
        auto report = reports.take();
        REQUIRE(report);
        CHECK(report->parent_transport == "pipe");
        CHECK(report->fds_at_start == std::vector<int>{0, 1, 2, 3, 4, 5});
        // Ours stays open; the child's copy at 3 is the same pipe: with both gone, EOF.
        parent.send("echo", spawn_wire::Quit{0});
        CHECK(child.wait().code == 0);
        write_end.reset();
        char byte = 0;
        CHECK(::read(read_end.get(), &byte, 1) == 0);
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("a child killed with SIGKILL: its parent gets Down, loses the pipe link and reaps it",
          "[process][spawn][pipe]") {
    TempRuntimeDir dir;
    {
        NodeOptions options = parent_options(dir, "");
        options.config->override_transport = "pipe";
        Node parent(options);
        Mailbag<spawn_wire::Report> reports;
        collect_reports(parent, reports);
        ChildProcess child = parent.spawn_process(kid(dir, "pipe"));
        REQUIRE(reports.take());
        Mailbag<Down> downs;
        Mailbag<bool> watching;
        parent.spawn("watcher", [&](Actor& self) {
            self.handle<Down>([&downs](Down& down) { downs.put(down); });
            self.monitor("echo");
            watching.put(true);
        });
        REQUIRE(watching.take());
        REQUIRE(parent.request<spawn_wire::Pong>("echo", spawn_wire::Ping{1}, 10s).has_value());
        REQUIRE(link_to(parent.links(), "kid-node") != nullptr);
        const pid_t pid = child.pid();

        REQUIRE(child.signal(SIGKILL));
        auto down = downs.take();
        REQUIRE(down);
        CHECK(down->name == "echo");
        CHECK(down->reason == DownReason::node_exited);
        CHECK(down->node == "kid-node");
        CHECK(eventually([&] { return link_to(parent.links(), "kid-node") == nullptr; }));
        auto gone = parent.request<spawn_wire::Pong>("echo", spawn_wire::Ping{2}, 10s);
        REQUIRE_FALSE(gone.has_value());
        CHECK(gone.error().code != ErrorCode::timeout);  // an error at once, not silence

        auto status = child.wait();
        CHECK(status.signal == SIGKILL);
        CHECK_THAT(status.describe(), Catch::StartsWith("killed by signal 9"));
        CHECK(reaped(pid));
        CHECK_FALSE(child.signal(SIGKILL));  // reaped: its pid is no longer ours to signal
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE(
    "a child spawned when the link's transport does not link children links by the "
    "registry",
    "[process][spawn]") {
    TempRuntimeDir dir;
    {
        Node parent(parent_options(dir, "[links]\npreference = [\"unix\", \"pipe\"]\n"));
        Mailbag<spawn_wire::Report> reports;
        collect_reports(parent, reports);
        ChildProcess child = parent.spawn_process(kid(dir, "unix"));
        auto report = reports.take();
        REQUIRE(report);
        CHECK(report->parent_transport.empty());  // no inherited link: it connected to send
        CHECK(report->fds_at_start == std::vector<int>{0, 1, 2});
        CHECK(report->endpoints.size() == 1);

        REQUIRE(parent.request<spawn_wire::Pong>("echo", spawn_wire::Ping{1}, 10s).has_value());
        const auto links = parent.links();
        const auto* link = link_to(links, "kid-node");
        REQUIRE(link != nullptr);
        CHECK(link->transport == "unix");
        parent.send("echo", spawn_wire::Quit{0});
        CHECK(child.wait().success());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("courier links shows a spawned child's pipe link from both ends, with its reason",
          "[process][spawn][pipe][cli]") {
    TempRuntimeDir dir;
    {
        // The parent listens on unix, so the CLI can ask it; its child link is pinned to pipe.
        Node parent(parent_options(dir,
                                   "[links]\npreference = [\"unix\"]\n"
                                   "[[links.rule]]\nfrom = \"parent-*\"\nto = \"kid-*\"\n"
                                   "transport = \"pipe\"\n"));
        Mailbag<spawn_wire::Report> reports;
        collect_reports(parent, reports);
        ProcessOptions options = kid(dir, "unix");
        ChildProcess child = parent.spawn_process(options);
        auto report = reports.take();
        REQUIRE(report);
        CHECK(report->parent_transport == "pipe");

        auto out = run_command(
            {(bin_dir() / "courier").string(), "links", "--runtime-dir", dir.path().string()});
        CHECK(out.exit_code == 0);
        INFO(out.out);
        CHECK_THAT(out.out, Catch::Matches(
                                "(.|\n)*parent-node +kid-node +pipe +rule \"parent-\\* -> kid-\\*\""
                                "(.|\n)*"));
        CHECK_THAT(out.out, Catch::Matches("(.|\n)*kid-node +parent-node +pipe +inherited(.|\n)*"));
        parent.send("echo", spawn_wire::Quit{0});
        CHECK(child.wait().success());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("courier links and ps show nodes linked only by pipes, with the counts so far",
          "[process][spawn][pipe][cli]") {
    TempRuntimeDir dir;
    {
        // Neither node listens on anything: the CLI asks both through courierd.
        NodeOptions options = parent_options(dir, "");
        options.config->override_transport = "pipe";
        Node parent(options);
        Mailbag<spawn_wire::Report> reports;
        collect_reports(parent, reports);
        ChildProcess child = parent.spawn_process(kid(dir, "pipe"));
        auto report = reports.take();
        REQUIRE(report);
        CHECK(report->endpoints.empty());
        constexpr int pings = 7;
        for (int i = 0; i < pings; ++i)
            REQUIRE(parent.request<spawn_wire::Pong>("echo", spawn_wire::Ping{i}, 5s));
        const auto links = parent.links();
        const LinkInfo* ours = link_to(links, "kid-node");
        REQUIRE(ours);

        const std::string cli = (bin_dir() / "courier").string();
        auto out = run_command({cli, "links", "--runtime-dir", dir.path().string()});
        INFO(out.out);
        CHECK(out.exit_code == 0);
        CHECK_THAT(out.out, Catch::Matches("(.|\n)*parent-node +kid-node +pipe +override(.|\n)*"));
        CHECK_THAT(out.out, Catch::Matches("(.|\n)*kid-node +parent-node +pipe +inherited(.|\n)*"));
        // What the CLI shows is no turn behind what the node counted before it asked.
        auto json_out = run_command({cli, "links", "--json", "--runtime-dir", dir.path().string()});
        REQUIRE(json_out.exit_code == 0);
        for (const auto& node : nlohmann::json::parse(json_out.out)) {
            if (node.at("node") != "parent-node") continue;
            REQUIRE(node.at("links").size() == 1);
            const auto& shown = node.at("links")[0];
            CHECK(shown.at("frames_sent").get<std::uint64_t>() >= ours->frames_sent);
            CHECK(shown.at("frames_received").get<std::uint64_t>() >= ours->frames_received);
            // Every Ping sent, and the Report and every Pong received, are counted.
            CHECK(shown.at("frames_sent").get<std::uint64_t>() >= pings);
            CHECK(shown.at("frames_received").get<std::uint64_t>() >= pings + 1);
        }
        CHECK(ours->frames_sent >= pings);
        CHECK(ours->frames_received >= pings);

        auto ps = run_command({cli, "ps", "--runtime-dir", dir.path().string()});
        INFO(ps.out);
        CHECK_THAT(ps.out,
                   Catch::Matches("(.|\n)*parent-node +[0-9]+ +- +inbox +- +- +0\n(.|\n)*"));
        CHECK_THAT(ps.out, Catch::Matches("(.|\n)*kid-node +[0-9]+ +- +echo +- +- +0\n(.|\n)*"));
        parent.send("echo", spawn_wire::Quit{0});
        CHECK(child.wait().success());
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("a program that cannot be started throws with its errno and leaves no link or fd",
          "[process][spawn]") {
    TempRuntimeDir dir;
    {
        NodeOptions options = parent_options(dir, "");
        options.config->override_transport = "pipe";
        Node parent(options);
        const std::size_t fds_before = open_fd_count();
        ProcessOptions missing = kid(dir, "pipe");
        missing.argv[0] = (dir.path() / "no-such-program").string();
        try {
            (void)parent.spawn_process(missing);
            FAIL("a missing program was started");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::no_such_file_or_directory);
            CHECK_THAT(e.what(), Catch::Contains("no-such-program"));
        }
        CHECK(parent.links().empty());
        CHECK(open_fd_count() == fds_before);
        CHECK_THROWS_AS(parent.spawn_process(ProcessOptions{}), std::invalid_argument);
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("a ChildProcess handle reaps its child: waited, exited, or ended by its destructor",
          "[process][spawn]") {
    SECTION("wait reports the exit code, again and again") {
        ProcessOptions options;
        options.argv = {"sh", "-c", "exit 3"};  // found in PATH
        ChildProcess child = ChildProcess::start(options);
        CHECK(child.wait().code == 3);
        CHECK(child.wait().code == 3);
        CHECK(reaped(child.pid()));
    }
    SECTION("the destructor ends a child that would run for ever") {
        pid_t pid = -1;
        {
            ProcessOptions options;
            options.argv = {"sleep", "600"};
            ChildProcess child = ChildProcess::start(options);
            pid = child.pid();
            CHECK_FALSE(child.wait_for(0ms));
        }  // SIGTERM, and it ends
        CHECK(reaped(pid));
    }
    SECTION("the destructor kills a child that ignores SIGTERM once the grace time is over") {
        pid_t pid = -1;
        {
            ProcessOptions options;
            // The shell tells us (on its fd 3) that it ignores SIGTERM before we let go.
            options.argv = {"sh", "-c", "trap '' TERM; echo ready >&3; exec sleep 600"};
            int ready[2];
            REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
            Fd read_end(ready[0]), write_end(ready[1]);
            ChildProcess child = ChildProcess::start(options, {write_end.get()});
            write_end.reset();
            char line[6] = {};
            REQUIRE(::read(read_end.get(), line, sizeof line) == 6);
            pid = child.pid();
        }
        CHECK(reaped(pid));
    }
    SECTION("moving a handle moves the child") {
        ProcessOptions options;
        options.argv = {"sh", "-c", "exit 5"};
        ChildProcess first = ChildProcess::start(options);
        ChildProcess second = std::move(first);
        CHECK_FALSE(first);
        CHECK(second.wait().code == 5);
    }
}
