// pipeline-filter: the middle of `generate | filter | count`. It takes records from the
// stage before it (its parent), passes on those whose value mod 100 is below --keep, and
// starts the next stage as its child (pipeline-count next to this program, or the rest of
// its command line). Its actor is parked while the next stage has no credit left for it,
// and then takes nothing, so the stage before it runs out of credit in turn: the slowest
// stage paces the whole pipeline. See samples/pipeline/README.md.
#include "messages.hpp"
#include "stage.hpp"

#include <CLI/CLI.hpp>
#include <courier/version.hpp>

#include <unistd.h>

#include <iomanip>
#include <iostream>
#include <optional>

namespace {

/// What the actor did, for main's summary.
struct Run {
    std::uint64_t taken = 0;
    std::uint64_t passed = 0;
    std::uint64_t taken_checksum = pipeline::checksum_seed;   ///< fold() over those it took
    std::uint64_t passed_checksum = pipeline::checksum_seed;  ///< and over those it passed
    std::optional<pipeline::End> end;                         ///< as it came from the stage before
    std::vector<courier::LinkInfo> links;
    std::size_t most_held = 0;  ///< the most records its mailbox held
    std::string failure;        ///< the next stage went down before End
};

}  // namespace

int main(int argc, char** argv) try {
    CLI::App app{"courier sample: a stage of generate | filter | count that keeps some records"};
    app.set_version_flag("--version", COURIER_VERSION);
    app.prefix_command();  // what follows the options is the next stage's command line
    std::uint64_t keep = 50;
    std::string config_file;
    app.add_option("--keep", keep, "percent of the records to keep (by their value)")
        ->capture_default_str()
        ->check(CLI::Range(0, 100));
    app.add_option("--config", config_file, "TOML config (default: $COURIER_CONFIG)");
    app.footer("Then the next stage and its options (default: pipeline-count).");
    CLI11_PARSE(app, argc, argv);

    Run run;  // before the node: its actor writes it until the node's end stops it
    courier::Node node(pipeline::stage_options(argv[0], config_file));
    pipeline::Downstream next = pipeline::start_downstream(node, app.remaining(), "pipeline-count");

    // Registered only now, with the rest of the pipeline ready: the stage before waits
    // for this name before it sends.
    node.spawn(pipeline::actor_of(::getpid()), [&](courier::Actor& self) {
        self.handle([&](pipeline::Record& record) {
            ++run.taken;
            run.taken_checksum = pipeline::fold(run.taken_checksum, record);
            if (!pipeline::passes(record, keep)) return;
            ++run.passed;
            run.passed_checksum = pipeline::fold(run.passed_checksum, record);
            self.send(next.actor, std::move(record));
        });
        self.handle([&](pipeline::End& end) {
            run.end = end;
            self.send(next.actor, pipeline::End{end.generated, run.passed, run.passed_checksum,
                                                end.generator_finished_ns});
            run.links = self.node().links();
            for (const auto& mailbox : self.node().mailboxes())
                if (mailbox.name == self.name()) run.most_held = mailbox.high_water;
        });
        self.handle([&](courier::Down& down) {
            if (!run.end)
                run.failure = std::string(courier::to_string(down.reason)) + ": " + down.detail;
            self.node().shutdown();
        });
        self.monitor(next.actor);
    });
    node.wait();  // until the next stage is done, or a signal

    if (!run.failure.empty()) {
        std::cerr << "filter: the next stage went down (" << run.failure << ") after " << run.passed
                  << " records\n";
        return 3;
    }
    if (!run.end) {
        std::cout << "filter: stopped after " << run.taken << " records\n";
        return 0;  // a signal stopped it (or the stage before, dying): a clean stop
    }
    const courier::ExitStatus status = next.process.wait();
    // What the stage before says it passed on must be what arrived.
    const bool ok = run.taken == run.end->passed && run.taken_checksum == run.end->checksum;
    std::cout << "filter: passed " << run.passed << " of " << run.taken << " records (keep " << keep
              << "%)" << (ok ? "" : ", but the stage before passed another count or checksum")
              << "\n";
    for (const auto& link : run.links)
        std::cout << "filter: link to " << link.peer_node << " over " << pipeline::describe(link)
                  << "\n";
    std::cout << std::fixed << std::setprecision(1) << "filter: peak memory "
              << pipeline::peak_memory_mib() << " MiB; its mailbox held at most " << run.most_held
              << " records\n";
    if (!status.success()) std::cout << "filter: the next stage " << status.describe() << "\n";
    return status.success() && ok ? 0 : 1;
} catch (const courier::ConfigError& e) {
    std::cerr << "filter: " << e.what() << "\n";
    return 2;
} catch (const courier::SetupError& e) {  // no registry, a bad config
    std::cerr << "filter: " << e.what() << "\n";
    return 2;
} catch (const std::exception& e) {  // the next stage could not start
    std::cerr << "filter: " << e.what() << "\n";
    return 2;
}
