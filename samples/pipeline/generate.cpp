// pipeline-generate: the head of `generate | filter | count`. It starts the next stage as
// its child (pipeline-filter next to this program, or the rest of its command line), and
// sends it --count records from an actor, a batch a turn: courier's credit then paces it,
// so it goes as fast as the slowest stage downstream takes records, and holds no more
// than a batch. It exits when the stages after it have finished, with the status of the
// next one. See samples/pipeline/README.md.
#include "messages.hpp"
#include "stage.hpp"

#include <CLI/CLI.hpp>
#include <courier/version.hpp>

#include <unistd.h>

#include <iomanip>
#include <iostream>
#include <optional>

namespace pipeline {

/// From the generator's actor to itself: send the next batch. One batch a turn lets the
/// framework park the actor between batches while the next stage has no credit left.
struct Next {
    template <class Archive>
    void serialize(Archive&) {}
};

}  // namespace pipeline

COURIER_MESSAGE(pipeline::Next, "pipeline.Next");

namespace {

struct Settings {
    std::uint64_t count = 100'000;
    std::size_t size = 100;
    std::uint64_t batch = 64;
};

/// What the actor did, for main's summary.
struct Run {
    std::uint64_t sent = 0;
    std::uint64_t checksum = pipeline::checksum_seed;
    std::int64_t started_ns = 0;
    std::int64_t finished_ns = 0;  ///< when it sent the last record; 0 before
    std::optional<courier::LinkInfo> link;
    std::string failure;  ///< the next stage went down before End
};

}  // namespace

int main(int argc, char** argv) try {
    CLI::App app{"courier sample: the first stage of generate | filter | count"};
    app.set_version_flag("--version", COURIER_VERSION);
    app.prefix_command();  // what follows the options is the next stage's command line
    Settings s;
    std::string config_file;
    app.add_option("--count", s.count, "records to generate")->capture_default_str();
    app.add_option("--size", s.size, "payload bytes per record")->capture_default_str();
    app.add_option("--batch", s.batch, "records sent per turn")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--config", config_file, "TOML config (default: $COURIER_CONFIG)");
    app.footer("Then the next stage and its options (default: pipeline-filter).");
    CLI11_PARSE(app, argc, argv);

    Run run;  // before the node: its actor writes it until the node's end stops it
    courier::Node node(pipeline::stage_options(argv[0], config_file));
    pipeline::Downstream next =
        pipeline::start_downstream(node, app.remaining(), "pipeline-filter");

    node.spawn(pipeline::actor_of(::getpid()), [&](courier::Actor& self) {
        self.handle([&](pipeline::Next&) {
            for (std::uint64_t i = 0; i < s.batch && run.sent < s.count; ++i) {
                pipeline::Record record = pipeline::make_record(run.sent++, s.size);
                run.checksum = pipeline::fold(run.checksum, record);
                self.send(next.actor, std::move(record));
            }
            if (run.sent < s.count) return self.send(self.name(), pipeline::Next{});
            run.finished_ns = pipeline::now_ns();
            self.send(next.actor, pipeline::End{s.count, s.count, run.checksum, run.finished_ns});
            for (const auto& link : self.node().links())
                if (link.peer_node == next.node) run.link = link;
        });
        // The next stage stops once it has taken End: then we are done too.
        self.handle([&](courier::Down& down) {
            if (run.finished_ns == 0)
                run.failure = std::string(courier::to_string(down.reason)) + ": " + down.detail;
            self.node().shutdown();
        });
        self.monitor(next.actor);
        run.started_ns = pipeline::now_ns();
        self.send(self.name(), pipeline::Next{});
    });
    node.wait();  // until the next stage is done, or a signal

    if (!run.failure.empty()) {
        std::cerr << "generate: the next stage went down (" << run.failure << ") after " << run.sent
                  << " of " << s.count << " records\n";
        return 3;
    }
    if (run.finished_ns == 0) {
        std::cout << "generate: stopped after " << run.sent << " of " << s.count << " records\n";
        return 0;  // a signal stopped it: a clean stop
    }
    const courier::ExitStatus status = next.process.wait();
    const double seconds = static_cast<double>(run.finished_ns - run.started_ns) / 1e9;
    std::cout << std::fixed << std::setprecision(2) << "generate: sent " << s.count
              << " records of " << s.size << " B in " << seconds << " s (" << std::setprecision(0)
              << static_cast<double>(s.count) / seconds << " records/s)\n";
    if (run.link)
        std::cout << std::setprecision(2) << "generate: link to " << run.link->peer_node << " over "
                  << pipeline::describe(*run.link) << ", waited "
                  << static_cast<double>(run.link->blocked_us) / 1e6 << " s for credit\n";
    std::cout << std::setprecision(1) << "generate: peak memory " << pipeline::peak_memory_mib()
              << " MiB\n";
    if (!status.success()) std::cout << "generate: the next stage " << status.describe() << "\n";
    return status.success() ? 0 : 1;
} catch (const courier::ConfigError& e) {
    std::cerr << "generate: " << e.what() << "\n";
    return 2;
} catch (const courier::SetupError& e) {  // no registry, a bad config
    std::cerr << "generate: " << e.what() << "\n";
    return 2;
} catch (const std::exception& e) {  // the next stage could not start
    std::cerr << "generate: " << e.what() << "\n";
    return 2;
}
