// prefork_httpd: the master of a prefork web server, the pattern of Apache's prefork MPM
// with courier in the middle. It listens on 127.0.0.1, starts and supervises N worker
// processes (`prefork_httpd-worker`), and hands each connection it accepts, unread, to the
// least loaded worker as a socket inside a message. The workers speak HTTP. A worker
// that dies costs only its own connections: the supervisor starts it again, and new
// connections go to the others meanwhile. See samples/prefork_httpd/README.md.
#include "dispatcher.hpp"
#include "links.hpp"
#include "listener.hpp"
#include "messages.hpp"

#include <CLI/CLI.hpp>
#include <courier/version.hpp>

#include <filesystem>
#include <iostream>
#include <system_error>

namespace {

using namespace std::chrono_literals;

struct Settings {
    std::uint16_t port = 0;
    std::uint64_t workers = 4;
    std::string root = ".";
    std::uint64_t idle_timeout_s = 30;
    std::string worker_program;
};

std::filesystem::path next_to_this_program(const char* name) {
    return std::filesystem::read_symlink("/proc/self/exe").parent_path() / name;
}

courier::SupervisorSpec workers_spec(const Settings& s) {
    courier::SupervisorSpec spec;
    spec.strategy = courier::RestartStrategy::one_for_one;
    // A server keeps its workers whatever happens to them: no intensity that gives up.
    spec.max_restarts = 1'000'000;
    spec.period = 1s;
    for (std::uint64_t i = 0; i < s.workers; ++i) {
        const std::string name = "httpd.worker-" + std::to_string(i);
        courier::ChildSpec child;
        child.id = name;
        child.process.argv = {s.worker_program,
                              "--name",
                              name,
                              "--root",
                              s.root,
                              "--idle-timeout-s",
                              std::to_string(s.idle_timeout_s)};
        child.names = {name};
        child.start_timeout = 10s;
        child.backoff_initial = 10ms;
        child.backoff_max = 1s;
        spec.children.push_back(std::move(child));
    }
    return spec;
}

}  // namespace

int main(int argc, char** argv) try {
    CLI::App app{"courier sample: a prefork web server (master)"};
    app.set_version_flag("--version", COURIER_VERSION);
    Settings s;
    std::string config_file;
    app.add_option("--port", s.port, "TCP port on 127.0.0.1; 0: any free port")
        ->capture_default_str();
    app.add_option("--workers", s.workers, "worker processes to start and supervise")
        ->capture_default_str()
        ->check(CLI::Range(1, 256));
    app.add_option("--root", s.root, "the directory whose files are served")
        ->capture_default_str()
        ->check(CLI::ExistingDirectory);
    app.add_option("--idle-timeout-s", s.idle_timeout_s,
                   "how long a worker keeps an idle connection open")
        ->capture_default_str();
    app.add_option("--worker-program", s.worker_program,
                   "the worker (default: prefork_httpd-worker next to this program)");
    app.add_option("--config", config_file, "TOML config (default: $COURIER_CONFIG)");
    CLI11_PARSE(app, argc, argv);
    if (s.worker_program.empty()) s.worker_program = next_to_this_program("prefork_httpd-worker");
    s.root = std::filesystem::canonical(s.root).string();  // the workers may start elsewhere

    courier::NodeOptions options;
    options.name = httpd::node_prefix;
    options.config = courier::Config::from_environment(config_file);
    httpd::carry_sockets(*options.config);  // the workers start with this config
    if (auto why = httpd::cannot_carry_sockets(*options.config)) {
        std::cerr << "prefork_httpd: " << *why << "\n";
        return 2;
    }
    httpd::Listener listener(s.port);  // before any worker: a port in use ends us here
    courier::Node node(options);
    node.spawn<httpd::Dispatcher>(httpd::master_name, httpd::DispatcherOptions{s.workers});
    node.spawn<courier::Supervisor>("httpd.supervisor", workers_spec(s));

    // Connections that come before the workers are up wait in the dispatcher.
    listener.start([&node](courier::Fd socket) {
        node.send(httpd::master_name, httpd::Accepted{std::move(socket)});
    });
    std::cout << "prefork_httpd: listening on 127.0.0.1:" << listener.port() << ", serving "
              << s.root << " with " << s.workers << " workers" << std::endl;
    node.wait();  // SIGTERM or SIGINT
    listener.stop();
    std::cout << "prefork_httpd: stopped" << std::endl;
    return 0;
} catch (const courier::ConfigError& e) {
    std::cerr << "prefork_httpd: " << e.what() << "\n";
    return 2;
} catch (const courier::SetupError& e) {
    std::cerr << "prefork_httpd: " << e.what() << "\n";
    return 2;
} catch (const std::system_error& e) {  // the port is taken, ...
    std::cerr << "prefork_httpd: " << e.what() << "\n";
    return 2;
}
