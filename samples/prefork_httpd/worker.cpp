// prefork_httpd-worker: serves HTTP on the connections the master hands it. Its actor
// joins the workers' group and takes the sockets; an event loop on a thread of its own
// (server.hpp) serves them. Started by `prefork_httpd`, which supervises it, or by hand
// from another terminal: it joins the running server and takes its share. SIGTERM
// stops it cleanly; SIGKILL costs the clients of its open connections those connections.
#include "links.hpp"
#include "messages.hpp"
#include "server.hpp"
#include "stats_page.hpp"

#include <CLI/CLI.hpp>
#include <courier/version.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>

namespace {

using namespace std::chrono_literals;

/// Loop -> the worker's actor, within the process: connection `id` asks for /stats.
struct StatsWanted {
    std::uint64_t connection = 0;
    template <class A>
    void serialize(A& a) {
        a(connection);
    }
};

}  // namespace

COURIER_MESSAGE(StatsWanted, "prefork_httpd.StatsWanted");

int main(int argc, char** argv) try {
    CLI::App app{"courier sample: a prefork web server's worker"};
    app.set_version_flag("--version", COURIER_VERSION);
    std::string name = "httpd.worker." + std::to_string(::getpid());
    std::string root_path;
    std::string master = httpd::master_name;
    std::uint64_t idle_timeout_s = 30;
    std::string config_file;
    app.add_option("--name", name, "the worker actor's name (default: httpd.worker.<pid>)");
    app.add_option("--root", root_path, "the directory whose files are served")
        ->required()
        ->check(CLI::ExistingDirectory);
    app.add_option("--master", master, "the master actor's name")->capture_default_str();
    app.add_option("--idle-timeout-s", idle_timeout_s, "how long an idle connection stays open")
        ->capture_default_str();
    app.add_option("--config", config_file, "TOML config (default: $COURIER_CONFIG)");
    CLI11_PARSE(app, argc, argv);

    const courier::Fd root(::open(root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) {
        std::cerr << "prefork_httpd-worker: " << root_path << ": " << std::strerror(errno) << "\n";
        return 2;
    }
    courier::NodeOptions options;
    options.name = std::string(httpd::node_prefix) + "-worker-" + std::to_string(::getpid());
    options.threads = 1;  // the actor only passes sockets on; the loop does the work
    options.config = courier::Config::from_environment(config_file);
    httpd::carry_sockets(*options.config);  // also when started by hand
    if (auto why = httpd::cannot_carry_sockets(*options.config)) {
        std::cerr << "prefork_httpd-worker: " << *why << "\n";
        return 2;
    }
    courier::Node node(options);

    // The loop's hooks run on its thread: Node::send is made for threads outside actors.
    httpd::ServerHooks hooks;
    hooks.closed = [&node, master](std::uint64_t id, std::uint64_t requests) {
        node.send(master, httpd::Closed{id, requests});
    };
    hooks.want_stats = [&node, name](std::uint64_t id) { node.send(name, StatsWanted{id}); };
    const auto server = std::make_shared<httpd::Server>(
        httpd::Site{root.get(), std::chrono::seconds(idle_timeout_s)}, std::move(hooks));

    int exit_code = 0;
    node.spawn(name, [server, master, &exit_code](courier::Actor& self) {
        if (auto joined = self.join(httpd::workers_group); !joined) {
            std::cerr << "prefork_httpd-worker: " << joined.error().message << "\n";
            exit_code = 2;
            self.node().shutdown();
            return;
        }
        self.handle([server](httpd::NewConnection& connection) {
            server->adopt(connection.id, std::move(connection.socket));
        });
        // Asked without waiting: the loop serves the other connections meanwhile.
        self.handle([&self, server, master](StatsWanted& wanted) {
            self.request<httpd::Stats>(
                master, httpd::StatsQuery{}, 2s,
                [&self, server,
                 id = wanted.connection](courier::Expected<httpd::Stats, courier::Error> stats) {
                    if (stats)
                        server->stats_ready(id, 200,
                                            httpd::stats_page(*stats, self.name(), ::getpid()));
                    else
                        server->stats_ready(
                            id, 503, "no counts from the master: " + stats.error().message + "\n");
                });
        });
    });
    node.wait();
    server->stop();
    return exit_code;
} catch (const courier::ConfigError& e) {
    std::cerr << "prefork_httpd-worker: " << e.what() << "\n";
    return 2;
} catch (const courier::SetupError& e) {  // no registry, a bad config, a name taken
    std::cerr << "prefork_httpd-worker: " << e.what() << "\n";
    return 2;
} catch (const std::system_error& e) {  // epoll or eventfd refused
    std::cerr << "prefork_httpd-worker: " << e.what() << "\n";
    return 2;
}
