// taskfarm-worker: joins the task farm's group and counts primes for whoever asks (the
// farm's pool). Started by `taskfarm`, which supervises it, or by hand from another
// terminal: it joins the running farm and takes its share. SIGTERM or SIGINT stops it
// cleanly; a SIGKILL costs the farm nothing but a retry.
#include "messages.hpp"

#include <CLI/CLI.hpp>
#include <courier/version.hpp>

#include <unistd.h>

#include <iostream>

int main(int argc, char** argv) try {
    CLI::App app{"courier sample: a task farm's worker"};
    app.set_version_flag("--version", COURIER_VERSION);
    std::string name = "taskfarm.worker." + std::to_string(::getpid());
    std::string config_file;
    app.add_option("--name", name, "the worker actor's name (default: taskfarm.worker.<pid>)");
    app.add_option("--config", config_file, "TOML config (default: $COURIER_CONFIG)");
    CLI11_PARSE(app, argc, argv);

    courier::NodeOptions options;
    options.name = "taskfarm-worker-" + std::to_string(::getpid());
    options.threads = 1;  // one task at a time: the pool sends each worker its share
    options.config = courier::Config::from_environment(config_file);
    int exit_code = 0;
    courier::Node node(options);
    node.spawn(name, [&exit_code](courier::Actor& self) {
        if (auto joined = self.join(taskfarm::workers_group); !joined) {
            std::cerr << "taskfarm-worker: " << joined.error().message << "\n";
            exit_code = 2;
            self.node().shutdown();
            return;
        }
        self.handle([&self](taskfarm::Count& task) {
            self.reply(taskfarm::Counted{task.id, taskfarm::count_primes(task.lo, task.hi),
                                         self.name(), ::getpid()});
        });
    });
    node.wait();
    return exit_code;
} catch (const courier::ConfigError& e) {
    std::cerr << "taskfarm-worker: " << e.what() << "\n";
    return 2;
} catch (const courier::SetupError& e) {  // no registry, a bad config, a name taken
    std::cerr << "taskfarm-worker: " << e.what() << "\n";
    return 2;
}
