/// courier: the command-line tool. Each subcommand is one function in a file of its name
/// (commands.hpp); this file parses the command line and calls one.

#include "commands.hpp"
#include "suggestion.hpp"

#include <courier/version.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

namespace {

/// "unknown subcommand 'lnks'; did you mean "links"?": CLI11 would only say that a
/// subcommand is required.
int unknown_subcommand(const CLI::App& app, const std::string& word) {
    std::vector<std::string> names;
    for (const auto* command : app.get_subcommands({})) names.push_back(command->get_name());
    std::cerr << "courier: unknown subcommand '" << word << "'"
              << courier::detail::suggestion(word, names) << "\n"
              << "Run courier --help for the list.\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    namespace cli = courier::cli;
    CLI::App app{"courier: inspect the courier nodes of this host"};
    app.set_version_flag("--version", "courier " COURIER_VERSION);
    app.require_subcommand(1);
    std::string runtime_dir;
    const std::string dir_help =
        "registry directory (default: $COURIER_RUNTIME_DIR, $XDG_RUNTIME_DIR/courier, "
        "/tmp/courier-$UID)";
    bool json = false;

    auto* ps_command =
        app.add_subcommand("ps", "list the registered nodes, their names and dead letters");
    auto* groups_command = app.add_subcommand(
        "groups", "list the actor groups, how many members each has, and who they are");
    auto* links_command = app.add_subcommand(
        "links", "list every open link (its ends, transport and why) and the dead letters");
    for (auto* command : {ps_command, groups_command, links_command}) {
        command->add_option("--runtime-dir", runtime_dir, dir_help);
        command->add_flag("--json", json, "print JSON, for scripts");
    }

    cli::TopOptions top_options;
    long top_interval_ms = 1000;
    auto* top_command = app.add_subcommand(
        "top", "a live view of every node and link: rates, mailboxes, dead letters, restarts");
    top_command->add_option("--runtime-dir", top_options.runtime_dir, dir_help);
    top_command->add_option("--interval", top_interval_ms, "ms between views (default 1000)")
        ->check(CLI::Range(50L, 3'600'000L));
    top_command
        ->add_option("--iterations", top_options.iterations,
                     "views to show before exiting (default: until q or a signal)")
        ->check(CLI::NonNegativeNumber);
    top_command->add_flag("--plain", top_options.plain, "plain text even on a terminal");

    cli::PingOptions ping_options;
    long ping_interval_ms = 1000, ping_timeout_ms = 2000;
    auto* ping_command = app.add_subcommand(
        "ping", "time round trips to an actor, through its mailbox (every actor answers)");
    ping_command->add_option("name", ping_options.name, "the actor's name")->required();
    ping_command->add_option("--runtime-dir", ping_options.runtime_dir, dir_help);
    ping_command->add_option("-c,--count", ping_options.count, "round trips (default 4)")
        ->check(CLI::Range(1, 1'000'000));
    ping_command->add_option("--interval", ping_interval_ms, "ms between them (default 1000)")
        ->check(CLI::Range(0L, 3'600'000L));
    ping_command
        ->add_option("--timeout", ping_timeout_ms, "ms to wait for each answer (default 2000)")
        ->check(CLI::Range(1L, 3'600'000L));

    bool dry_run = false;
    auto* clean_command = app.add_subcommand(
        "clean", "remove the IPC objects (queues, segments, FIFOs) of dead processes");
    clean_command->add_option("--runtime-dir", runtime_dir, dir_help);
    clean_command->add_flag("--dry-run", dry_run, "list them only");

    cli::PlaceOptions place_options;
    auto* place_command = app.add_subcommand(
        "place", "start a program on another host, one its config offers, through its courierd");
    place_command->add_option("host", place_options.host, "the host (its registry.host)")
        ->required();
    place_command
        ->add_option("program", place_options.program, "a name of its [registry.placeable]")
        ->required();
    place_command->add_option("args", place_options.args,
                              "arguments after the config's (put -- before them), if the "
                              "program's entry sets extra_args");
    place_command->add_option("--runtime-dir", place_options.runtime_dir, dir_help);

    cli::UnplaceOptions unplace_options;
    auto* unplace_command = app.add_subcommand(
        "unplace", "stop a program placed on another host (SIGTERM), through its courierd");
    unplace_command->add_option("host", unplace_options.host, "the host")->required();
    unplace_command->add_option("pid", unplace_options.pid, "its pid there")->required();
    unplace_command->add_flag("--kill", unplace_options.kill, "SIGKILL instead");
    unplace_command->add_option("--runtime-dir", unplace_options.runtime_dir, dir_help);

    auto* bench_command =
        app.add_subcommand("bench",
                           "measure courier against the raw IPC mechanisms (runs courier-bench; "
                           "`courier bench --help` lists its options)");
    bench_command->prefix_command();  // everything after `bench` is courier-bench's
    bench_command->set_help_flag();

    auto* version_command = app.add_subcommand("version", "print courier's version");

    // A first word that is no subcommand (nor an option) is a typo, not a missing command.
    if (argc > 1 && argv[1][0] != '-') {
        const auto commands = app.get_subcommands({});
        if (std::none_of(commands.begin(), commands.end(),
                         [&](const CLI::App* command) { return command->check_name(argv[1]); }))
            return unknown_subcommand(app, argv[1]);
    }
    CLI11_PARSE(app, argc, argv);
    if (ps_command->parsed()) return cli::ps(runtime_dir, json);
    if (groups_command->parsed()) return cli::groups(runtime_dir, json);
    if (links_command->parsed()) return cli::links(runtime_dir, json);
    if (clean_command->parsed()) return cli::clean(runtime_dir, dry_run);
    if (top_command->parsed()) {
        top_options.interval = std::chrono::milliseconds(top_interval_ms);
        return cli::top(top_options);
    }
    if (ping_command->parsed()) {
        ping_options.interval = std::chrono::milliseconds(ping_interval_ms);
        ping_options.timeout = std::chrono::milliseconds(ping_timeout_ms);
        return cli::ping(ping_options);
    }
    if (place_command->parsed()) return cli::place(place_options);
    if (unplace_command->parsed()) return cli::unplace(unplace_options);
    if (bench_command->parsed()) return cli::bench(bench_command->remaining());
    if (version_command->parsed()) {
        std::cout << "courier " << COURIER_VERSION << "\n";
        return 0;
    }
    return 2;
}
