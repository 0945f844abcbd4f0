// pipeline-count: the end of `generate | filter | count`. It counts and checksums the
// records that reach it, taking --slow-us microseconds over each, and prints what it got
// once End comes: `count: 49873 records, checksum 0123456789abcdef`. It also says how many
// records it had taken when the generator finished: with a slow count, nearly all of them,
// because courier's credit held the generator back. See samples/pipeline/README.md.
#include "messages.hpp"
#include "stage.hpp"

#include <CLI/CLI.hpp>
#include <courier/version.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

namespace {

/// Records between two readings of the clock: how precisely count knows what it had
/// taken at a given moment.
constexpr std::uint64_t checkpoint_every = 64;

/// What the actor did, for main's summary.
struct Run {
    std::uint64_t taken = 0;
    std::uint64_t checksum = pipeline::checksum_seed;
    /// checkpoints[i]: when record (i + 1) * checkpoint_every was taken (now_ns()).
    std::vector<std::int64_t> checkpoints;
    std::optional<pipeline::End> end;
    std::vector<courier::LinkInfo> links;
    std::size_t most_held = 0;  ///< the most records its mailbox held

    /// The records taken by the moment `ns`, to checkpoint_every below.
    std::uint64_t taken_by(std::int64_t ns) const {
        const auto passed = std::upper_bound(checkpoints.begin(), checkpoints.end(), ns);
        return checkpoint_every * static_cast<std::uint64_t>(passed - checkpoints.begin());
    }
};

std::string hex(std::uint64_t n) {
    std::ostringstream out;
    out << std::hex << std::setw(16) << std::setfill('0') << n;
    return out.str();
}

}  // namespace

int main(int argc, char** argv) try {
    CLI::App app{"courier sample: the last stage of generate | filter | count"};
    app.set_version_flag("--version", COURIER_VERSION);
    std::uint64_t slow_us = 0;
    std::string config_file;
    app.add_option("--slow-us", slow_us, "microseconds to spend on each record (a slow stage)")
        ->capture_default_str();
    app.add_option("--config", config_file, "TOML config (default: $COURIER_CONFIG)");
    CLI11_PARSE(app, argc, argv);

    Run run;  // before the node: its actor writes it until the node's end stops it
    courier::Node node(pipeline::stage_options(argv[0], config_file));
    node.spawn(pipeline::actor_of(::getpid()), [&](courier::Actor& self) {
        self.handle([&](pipeline::Record& record) {
            if (slow_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(slow_us));
            run.checksum = pipeline::fold(run.checksum, record);
            if (++run.taken % checkpoint_every == 0) run.checkpoints.push_back(pipeline::now_ns());
        });
        self.handle([&](pipeline::End& end) {
            run.end = end;
            run.links = self.node().links();
            for (const auto& mailbox : self.node().mailboxes())
                if (mailbox.name == self.name()) run.most_held = mailbox.high_water;
            self.node().shutdown();
        });
    });
    node.wait();  // until End, or a signal

    if (!run.end) {
        std::cout << "count: stopped after " << run.taken << " records\n";
        return 0;  // a signal stopped it (or the stage before, dying): a clean stop
    }
    // What the stage before says it passed on must be what arrived.
    const bool ok = run.taken == run.end->passed && run.checksum == run.end->checksum;
    std::cout << "count: " << run.taken << " records, checksum " << hex(run.checksum);
    if (!ok)
        std::cout << " (but the stage before passed " << run.end->passed << ", checksum "
                  << hex(run.end->checksum) << ")";
    std::cout << "\n";
    const std::uint64_t then = run.taken_by(run.end->generator_finished_ns);
    std::cout << "count: when the generator finished, count had taken " << then << " of "
              << run.taken << " records (" << (run.taken ? 100 * then / run.taken : 100) << "%)\n";
    for (const auto& link : run.links)
        std::cout << "count: link to " << link.peer_node << " over " << pipeline::describe(link)
                  << "\n";
    std::cout << std::fixed << std::setprecision(1) << "count: peak memory "
              << pipeline::peak_memory_mib() << " MiB; its mailbox held at most " << run.most_held
              << " records\n";
    return ok ? 0 : 1;
} catch (const courier::ConfigError& e) {
    std::cerr << "count: " << e.what() << "\n";
    return 2;
} catch (const courier::SetupError& e) {  // no registry, a bad config
    std::cerr << "count: " << e.what() << "\n";
    return 2;
}
