// The `courier` command: ps, links and groups with --json, ping, top (plain, and on a
// terminal under tmux), version, and an unknown subcommand. Nodes are asked through
// courierd, so a node that listens on nothing (pipe links only, spawn_test.cpp) or that
// is stopped (SIGSTOP) still gets a line, without a hang.

#include "node_support.hpp"

#include <courier/courier.hpp>
#include <courier/version.hpp>

#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

using namespace courier;
using namespace courier::test;
using nlohmann::json;

namespace {

std::string cli() {
    return (bin_dir() / "courier").string();
}

/// Runs `command` through sh, its stderr with its stdout.
CommandResult shell(const std::string& command, milliseconds within = 10s) {
    return run_command({"/bin/sh", "-c", command + " 2>&1"}, within);
}

const json* node_named(json&&, const std::string&) = delete;  // it would dangle
const json* node_named(const json& nodes, const std::string& name) {
    for (const auto& node : nodes)
        if (node.at("node") == name) return &node;
    return nullptr;
}

/// A tmux server of the test's own, on a socket of its own (-S), killed with its sessions
/// when the test ends; the socket file goes too (kill-server leaves it).
class Tmux {
  public:
    Tmux() : socket_("/tmp/courier-test-tmux-" + std::to_string(::getpid()) + ".sock") {}
    ~Tmux() {
        run({"kill-server"});
        std::filesystem::remove(socket_);
    }
    Tmux(const Tmux&) = delete;
    Tmux& operator=(const Tmux&) = delete;
    CommandResult run(std::vector<std::string> args) const {
        args.insert(args.begin(), {"/usr/bin/tmux", "-S", socket_});
        return run_command(args);
    }
    std::string screen() const { return run({"capture-pane", "-p", "-t", "top"}).out; }

  private:
    std::string socket_;
};

}  // namespace

TEST_CASE("courier ps links and groups print JSON for scripts", "[process][cli]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_node(dir, "echo-node", "echo", echo);
        REQUIRE(child.expect('r'));
        Node node(node_options(dir, "asker-node"));
        node.spawn("member", [](Actor& self) {
            if (!self.join("workers")) throw std::runtime_error("cannot join");
        });
        for (int i = 0; i < 5; ++i)
            REQUIRE(node.request<wire::Pong>("echo", wire::Ping{i}, 5s).has_value());
        REQUIRE(eventually([&] {
            auto members = node.members("workers");
            return members && !members->empty();
        }));

        auto ps = run_command({cli(), "ps", "--json", "--runtime-dir", dir.path().string()});
        REQUIRE(ps.exit_code == 0);
        INFO(ps.out);
        const json nodes = json::parse(ps.out);
        const json* asker = node_named(nodes, "asker-node");
        REQUIRE(asker);
        CHECK(asker->at("pid") == ::getpid());
        CHECK(asker->at("answered") == true);
        CHECK(asker->at("names").size() == 1);
        CHECK(asker->at("stats").at("sent_remote").get<std::uint64_t>() >= 5);
        REQUIRE(node_named(nodes, "echo-node"));

        auto links = run_command({cli(), "links", "--json", "--runtime-dir", dir.path().string()});
        REQUIRE(links.exit_code == 0);
        INFO(links.out);
        const json linked = json::parse(links.out);
        const json* asking = node_named(linked, "asker-node");
        REQUIRE(asking);
        REQUIRE(asking->at("links").size() == 1);
        const json& link = asking->at("links")[0];
        CHECK(link.at("peer_node") == "echo-node");
        CHECK(link.at("initiated") == true);
        CHECK(link.at("frames_sent").get<std::uint64_t>() >= 5);
        CHECK(link.at("frames_received").get<std::uint64_t>() >= 5);

        auto groups =
            run_command({cli(), "groups", "--json", "--runtime-dir", dir.path().string()});
        REQUIRE(groups.exit_code == 0);
        const json listed = json::parse(groups.out);
        REQUIRE(listed.size() == 1);
        CHECK(listed[0].at("group") == "workers");
        CHECK(listed[0].at("members")[0].at("name") == "member");
        CHECK(listed[0].at("members")[0].at("node") == "asker-node");
        child.send('q');
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("courier ping times round trips through an actor's mailbox", "[process][cli]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_node(dir, "echo-node", "echo", echo);
        REQUIRE(child.expect('r'));
        const std::string runtime = " --runtime-dir " + dir.path().string();

        auto pinged = shell(cli() + " ping echo -c 3 --interval 0" + runtime);
        INFO(pinged.out);
        CHECK(pinged.exit_code == 0);
        CHECK_THAT(pinged.out, Catch::Contains("PING echo on node 'echo-node' (pid " +
                                               std::to_string(child.pid()) + ")"));
        CHECK_THAT(pinged.out,
                   Catch::Matches("(.|\n)*(answer from echo@echo-node \\(pid [0-9]+\\): [0-9.]+ "
                                  "µs\n){3}--- echo: 3 sent, 3 answered, min (.|\n)*"));

        auto unknown = shell(cli() + " ping nobody" + runtime);
        CHECK(unknown.exit_code == 1);
        CHECK_THAT(unknown.out, Catch::Contains("no actor named 'nobody'"));

        // A stopped process answers nothing, and ping says so when its wait ends.
        REQUIRE(::kill(child.pid(), SIGSTOP) == 0);
        auto stopped = shell(cli() + " ping echo -c 1 --timeout 300" + runtime);
        REQUIRE(::kill(child.pid(), SIGCONT) == 0);
        INFO(stopped.out);
        CHECK(stopped.exit_code == 1);
        CHECK_THAT(stopped.out,
                   Catch::Contains("no answer from echo") && Catch::Contains("1 sent, 0 answered"));
        child.send('q');
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("courier ps and links give a stopped node a line of its own without waiting for it",
          "[process][cli]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_node(dir, "frozen-node", "echo", echo);
        REQUIRE(child.expect('r'));
        Node node(node_options(dir, "awake-node"));
        REQUIRE(::kill(child.pid(), SIGSTOP) == 0);
        auto ps = run_command({cli(), "ps", "--runtime-dir", dir.path().string()});
        auto links = shell(cli() + " links --runtime-dir " + dir.path().string());
        REQUIRE(::kill(child.pid(), SIGCONT) == 0);
        INFO(ps.out);
        CHECK(ps.exit_code == 0);
        CHECK_THAT(ps.out, Catch::Matches("(.|\n)*frozen-node +[0-9]+ .* \\?\n(.|\n)*"));
        CHECK_THAT(ps.out, Catch::Matches("(.|\n)*awake-node +[0-9]+ .* 0\n(.|\n)*"));
        INFO(links.out);
        CHECK(links.exit_code == 1);
        CHECK_THAT(links.out, Catch::Contains("node 'frozen-node': it did not answer within"));
        child.send('q');
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("courier top shows every node and link as plain text off a terminal",
          "[process][cli][top]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_node(dir, "echo-node", "echo", echo);
        REQUIRE(child.expect('r'));
        Node node(node_options(dir, "asker-node"));
        REQUIRE(node.request<wire::Pong>("echo", wire::Ping{0}, 5s).has_value());
        const auto links = node.links();
        const LinkInfo* link = link_to(links, "echo-node");
        REQUIRE(link);
        const std::string transport = link->transport;
        auto top = run_command({cli(), "top", "--iterations", "2", "--interval", "100",
                                "--runtime-dir", dir.path().string()});
        INFO(top.out);
        CHECK(top.exit_code == 0);
        CHECK_THAT(top.out, Catch::Contains("2 nodes in " + dir.path().string()));
        CHECK_THAT(top.out, Catch::Matches("(.|\n)*NODE +PID +IN/S +OUT/S +BYTES/S +MAILBOX "
                                           "+FULLEST +DEAD LETTERS +DROPS +RESTARTS\n(.|\n)*"));
        CHECK_THAT(top.out,
                   Catch::Matches("(.|\n)*asker-node +echo-node +" + transport + " +(.|\n)*"));
        CHECK_THAT(top.out,
                   Catch::Matches("(.|\n)*echo-node +asker-node +" + transport + " +(.|\n)*"));
        child.send('q');
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("courier top on a terminal redraws every interval and quits on q",
          "[process][cli][top]") {
    TempRuntimeDir dir;
    {
        auto child = spawn_node(dir, "echo-node", "echo", echo);
        REQUIRE(child.expect('r'));
        Tmux tmux;
        REQUIRE(tmux.run({"new-session", "-d", "-s", "top", "-x", "160", "-y", "40",
                          cli() + " top --interval 100 --runtime-dir " + dir.path().string()})
                    .exit_code == 0);
        // Traffic after it started: the rate it shows can only come from a redraw.
        Node node(node_options(dir, "asker-node"));
        REQUIRE(node.request<wire::Pong>("echo", wire::Ping{0}, 5s).has_value());
        CHECK(eventually([&] {
            const auto screen = tmux.screen();
            return screen.find("asker-node") != std::string::npos &&
                   screen.find("echo-node   asker-node") != std::string::npos;
        }));
        INFO(tmux.screen());
        CHECK_THAT(tmux.screen(), Catch::Contains("q: quit"));
        REQUIRE(tmux.run({"send-keys", "-t", "top", "q"}).exit_code == 0);
        CHECK(eventually([&] { return tmux.run({"has-session", "-t", "top"}).exit_code != 0; }));
        child.send('q');
    }
    CHECK(dir.wait_until_empty());
}

TEST_CASE("courier says its version and names the subcommand a typo was closest to",
          "[process][cli]") {
    auto version = run_command({cli(), "version"});
    CHECK(version.exit_code == 0);
    CHECK(version.out == "courier " COURIER_VERSION "\n");
    auto flag = run_command({cli(), "--version"});
    CHECK(flag.exit_code == 0);
    CHECK(flag.out == "courier " COURIER_VERSION "\n");

    auto typo = shell(cli() + " lnks");
    CHECK(typo.exit_code == 2);
    CHECK_THAT(typo.out, Catch::StartsWith("courier: unknown subcommand 'lnks'; did you mean "
                                           "\"links\"?"));
    auto unlike = shell(cli() + " bogus");
    CHECK(unlike.exit_code == 2);
    CHECK_THAT(unlike.out, Catch::StartsWith("courier: unknown subcommand 'bogus'\n"));
}
